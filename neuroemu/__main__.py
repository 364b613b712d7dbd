"""``python -m neuroemu``: the same command line as the ``neuroemu`` script."""

from neuroemu.cli.main import main

if __name__ == "__main__":
    main()
