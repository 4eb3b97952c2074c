"""Offline stand-in for ansible-test's pip bootstrap script.

ansible-test creates empty virtual environments and bootstraps pip into them with a
script it downloads from its own CI file server, which this project may not reach
(only PyPI and Debian are allowed). This stand-in gives the same result from the
standard library's ensurepip and then lets pip install the requested packages
(pip==X, setuptools, wheel) from the configured package index.
scripts/sanity copies it to ansible-test's cache path.
"""
import ensurepip
import os
import runpy
import sys

ensurepip.bootstrap(upgrade=True)
requested = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
# ansible-test runs this with a trimmed environment: keep the machine's CA bundle.
ca_bundle = next((p for p in ("/etc/ssl/certs/ca-certificates.crt",) if os.path.exists(p)), None)
sys.argv = ["pip", "install", "--quiet", "--upgrade", *(["--cert", ca_bundle] if ca_bundle else []), *requested]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
