from privtrain.cli import main

main()
