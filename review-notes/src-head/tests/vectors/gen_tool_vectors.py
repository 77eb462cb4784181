#!/usr/bin/python3
"""Generates tests/vectors/tools.tsv: password hashes made by real tools, for the vector suite.

Run with Debian's /usr/bin/python3 (passlib); needs apache2-utils (htpasswd), openssl, whois
(mkpasswd), dovecot-core (doveadm pw), argon2, python3-passlib, python3-bcrypt.
Columns: tool, password as hex, stored value, expected scheme, expected status (default policy:
bcrypt $2y$ cost 12). Every row must verify with its password and fail with any other.
usage: gen_tool_vectors.py [OUTPUT]   (default: tests/vectors/tools.tsv beside this script)
"""
import os
import subprocess
import sys

from passlib import hash as ph

PASSWORDS = [
    "password", "x", "Pässwörd-ü€ 日本", "with space", "quote\"and'apos", "colon:pass:",
    "back\\slash\\", "tab\there", "$dollar$1$", "p" * 78,
]


def run(argv, stdin=None):
    return subprocess.run(argv, input=stdin, capture_output=True, check=True).stdout.decode().strip()


def htpasswd(flag, pw, *extra):
    return run(["htpasswd", "-nbi" + flag, *extra, "user"], (pw).encode()).split(":", 1)[1]


def doveadm(scheme, pw, *extra):
    return run(["doveadm", "pw", "-s", scheme, *extra, "-p", pw])


def openssl(flag, pw):
    return run(["openssl", "passwd", flag, "-stdin"], (pw + "\n").encode())


def mkpasswd(method, pw, *extra):
    return run(["mkpasswd", "-m", method, *extra, "--stdin"], (pw + "\n").encode())


def argon2(variant, pw, salt="saltsaltsalt16ch"):
    return run(["argon2", salt, variant, "-t", "2", "-m", "10", "-p", "1", "-e"], pw.encode())


def rows_for(pw):
    ascii_only = all(ord(c) < 128 for c in pw)
    no_tab = "\t" not in pw
    yield "htpasswd -B", htpasswd("B", pw, "-C", "5"), "bcrypt", "weak"
    yield "htpasswd -m", htpasswd("m", pw), "apr1", "legacy"
    yield "htpasswd -s", htpasswd("s", pw), "sha1", "legacy"
    yield "htpasswd -2", htpasswd("2", pw), "sha256_crypt", "legacy"
    yield "htpasswd -5", htpasswd("5", pw), "sha512_crypt", "legacy"
    yield "openssl passwd -1", openssl("-1", pw), "md5_crypt", "legacy"
    yield "openssl passwd -apr1", openssl("-apr1", pw), "apr1", "legacy"
    yield "openssl passwd -5", openssl("-5", pw), "sha256_crypt", "legacy"
    yield "openssl passwd -6", openssl("-6", pw), "sha512_crypt", "legacy"
    yield "mkpasswd yescrypt", mkpasswd("yescrypt", pw, "-R", "1"), "yescrypt", "legacy"
    yield "mkpasswd gost-yescrypt", mkpasswd("gost-yescrypt", pw, "-R", "1"), "gost_yescrypt", "legacy"
    yield "mkpasswd scrypt", mkpasswd("scrypt", pw, "-R", "6"), "scrypt", "legacy"
    yield "mkpasswd sha512crypt -R 7000", mkpasswd("sha512crypt", pw, "-R", "7000"), "sha512_crypt", "legacy"
    yield "mkpasswd bcrypt-a", mkpasswd("bcrypt-a", pw, "-R", "5"), "bcrypt", "weak"
    yield "mkpasswd bcrypt", mkpasswd("bcrypt", pw, "-R", "5"), "bcrypt", "weak"  # $2b$
    yield "mkpasswd descrypt {DES-CRYPT}", "{DES-CRYPT}" + mkpasswd("descrypt", pw), "des_crypt", "legacy"
    yield "argon2 -id", argon2("-id", pw), "argon2id", "weak"
    yield "argon2 -i", argon2("-i", pw), "argon2i", "weak"
    if no_tab:  # doveadm pw -p takes the password from argv
        yield "doveadm BLF-CRYPT", doveadm("BLF-CRYPT", pw, "-r", "5"), "bcrypt", "weak"
        yield "doveadm MD5-CRYPT", doveadm("MD5-CRYPT", pw), "md5_crypt", "legacy"
        yield "doveadm MD5", doveadm("MD5", pw), "md5_crypt", "legacy"
        yield "doveadm SHA512-CRYPT", doveadm("SHA512-CRYPT", pw), "sha512_crypt", "legacy"
        yield "doveadm SHA256-CRYPT", doveadm("SHA256-CRYPT", pw), "sha256_crypt", "legacy"
        yield "doveadm CRYPT", doveadm("CRYPT", pw), "bcrypt", "weak"  # Dovecot 2.3: {CRYPT} = bcrypt
        for scheme, name in [("PLAIN-MD5", "plain_md5"), ("LDAP-MD5", "plain_md5"), ("SMD5", "smd5"),
                             ("SHA", "sha1"), ("SHA1", "sha1"), ("SSHA", "ssha"), ("SHA256", "sha256"),
                             ("SSHA256", "ssha256"), ("SHA512", "sha512"), ("SSHA512", "ssha512"),
                             ("PLAIN", "plain"), ("CLEARTEXT", "plain")]:
            yield "doveadm " + scheme, doveadm(scheme, pw), name, "legacy"
        yield "doveadm SHA256.HEX", doveadm("SHA256.HEX", pw), "sha256", "legacy"
        yield "doveadm PLAIN-MD5.b64", doveadm("PLAIN-MD5.b64", pw), "plain_md5", "legacy"
    if pw == "password":  # 64 MiB each: one of each is enough
        yield "doveadm ARGON2ID", doveadm("ARGON2ID", pw), "argon2id", "current"
        yield "doveadm ARGON2I", doveadm("ARGON2I", pw), "argon2i", "weak"
        yield "passlib bcrypt 2y cost 12", ph.bcrypt.using(ident="2y", rounds=12).hash(pw), "bcrypt", "current"
    md5 = run(["md5sum"], pw.encode()).split()[0]
    yield "md5sum", md5, "plain_md5", "legacy"
    yield "md5sum (upper case)", md5.upper(), "plain_md5", "legacy"
    yield "passlib mysql41", ph.mysql41.hash(pw), "mysql41", "legacy"
    yield "passlib mysql323", ph.mysql323.hash(pw), "mysql323", "legacy"
    yield "passlib ldap_md5", ph.ldap_md5.hash(pw), "plain_md5", "legacy"
    yield "passlib ldap_salted_md5", ph.ldap_salted_md5.hash(pw), "smd5", "legacy"
    yield "passlib ldap_salted_sha1", ph.ldap_salted_sha1.hash(pw), "ssha", "legacy"
    yield "passlib md5_crypt", ph.md5_crypt.hash(pw), "md5_crypt", "legacy"
    yield "passlib apr_md5_crypt", ph.apr_md5_crypt.hash(pw), "apr1", "legacy"
    yield "passlib des_crypt {CRYPT}", "{CRYPT}" + ph.des_crypt.hash(pw), "des_crypt", "legacy"
    if ascii_only:
        yield "passlib bcrypt 2b", ph.bcrypt.using(ident="2b", rounds=5).hash(pw), "bcrypt", "weak"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "tools.tsv")
    lines = ["# tool\tpassword_hex\tstored\tscheme\tstatus  (made by gen_tool_vectors.py)"]
    for pw in PASSWORDS:
        for tool, stored, scheme, status in rows_for(pw):
            assert "\t" not in stored and "\n" not in stored, (tool, stored)
            lines.append("\t".join([tool, pw.encode().hex(), stored, scheme, status]))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines) - 1} vectors -> {out}")


if __name__ == "__main__":
    main()
