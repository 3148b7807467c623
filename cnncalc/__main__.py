"""`python -m cnncalc` and the `cnncalc` command (pyproject's [project.scripts]): the CLI.

The cyclic garbage collector is off from the first import: collecting while the modules load
costs ~3 ms of a 60 ms run and finds nothing to free; cli.main turns it back on for the
commands that want it (`verify`, `serve`, `import`: torch and servers make cycles).
"""


def start() -> None:
    import gc

    gc.disable()
    from cnncalc.cli import main

    main()


if __name__ == "__main__":
    start()
