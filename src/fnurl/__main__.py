from fnurl.cli import main

main()
