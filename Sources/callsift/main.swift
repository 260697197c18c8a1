print("callsift")
