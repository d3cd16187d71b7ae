"""Admin DSNs of every shape a person gets wrong, each carrying the password marker SEKRET.

Shared by the redaction, engine, CLI and provider tests: whatever the shape, no message may
contain SEKRET. Hosts are 127.0.0.1 port 1, so a DSN that does parse fails fast at connect.
"""

from __future__ import annotations

SECRET_MARKER = "SEKRET"

MALFORMED_DSNS: dict[str, str] = {
    "bad percent-encoding": "postgresql://admin:SEKRETpw%zz@127.0.0.1:1/db",
    "trailing percent": "postgresql://admin:SEKRETpw%@127.0.0.1:1/db",
    "'@' in password": "postgresql://admin:SEK@RETpw@127.0.0.1:1/db",
    "'/' in password": "postgresql://admin:SEK/RETpw@127.0.0.1:1/db",
    "':' in password": "postgresql://admin:SEK:RETpw@127.0.0.1:1/db",
    "'?' in password": "postgresql://admin:SEK?RETpw@127.0.0.1:1/db",
    "'#' in password": "postgresql://admin:SEK#RETpw@127.0.0.1:1/db",
    "missing host": "postgresql://admin:SEKRETpw@/db?port=1",
    "missing '@' and host": "postgresql://admin:SEKRETpw",
    "empty user": "postgresql://:SEKRETpw@127.0.0.1:1/db",
    "port not a number": "postgresql://admin:SEKRETpw@127.0.0.1:port/db",
    "unclosed IPv6 bracket": "postgres://admin:SEKRETpw@[::1/db",
    "leading space": "  postgresql://admin:SEKRETpw@127.0.0.1:1/db",
    "wrong scheme": "cockroachdb://admin:SEKRETpw@127.0.0.1:1/db",
    "query password, bad percent-encoding": "postgresql://127.0.0.1:1/db?password=SEKRET%zz",
    "query password with '&'": "postgresql://127.0.0.1:1/db?password=SEK&RETpw&sslmode=disable",
    "query password, unknown option": "postgresql://127.0.0.1:1/db?password=SEKRETpw&bogus=1",
    "query option misspelt": "postgresql://admin@127.0.0.1:1/db?pasword=SEKRETpw",
    "keyword form": "host=127.0.0.1 port=1 user=admin password=SEKRETpw",
    "keyword form, quoted": "host=127.0.0.1 port=1 password='SEKRET pw' dbname=d",
    "keyword form, unterminated quote": "host=127.0.0.1 password='SEKRET pw",
    "keyword form, stray word": "host=127.0.0.1 password=SEKRETpw bogus",
    "keyword form, spaces around '='": "host=127.0.0.1 password = SEKRETpw port=x",
    "keyword form, trailing backslash": "host=127.0.0.1 port=1 password=SEKRETpw\\",
    "keyword form, misspelt key": "host=127.0.0.1 passwrd=SEKRETpw",
    "keyword form, sslpassword": "host=127.0.0.1 port=1 sslpassword=SEKRETpw",
    "keyword form, empty password then value": "host=127.0.0.1 password= SEKRETpw",
    "keyword form, URI nested in dbname": "host=127.0.0.1 port=1 dbname=postgresql://a:SEKRETpw@h/d",
    "query form, URI nested in dbname": "postgresql://127.0.0.1:1/?dbname=postgresql://a:SEKRETpw@h/d",
}
