print("journal harness")
