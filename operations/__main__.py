"""`python -m operations`: cluster status, certificate expiry and decommissioning for operators."""

from operations.cli import main

if __name__ == "__main__":
    main()
