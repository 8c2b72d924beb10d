from cartlens.cli import main

main()
