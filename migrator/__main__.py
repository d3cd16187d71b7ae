"""`python -m migrator`: plan, apply or show the status of the SQL migrations."""

from migrator.cli import main

if __name__ == "__main__":
    main()
