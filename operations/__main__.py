"""`python -m operations`: cluster status and certificate expiry for operators."""

from operations.cli import main

if __name__ == "__main__":
    main()
