CallSiftCommand.main()
