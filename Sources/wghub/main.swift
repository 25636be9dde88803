print("wghub")
