"""Throwaway TLS certificates, so that a lesson's cluster answers only the learner who started it.

127.0.0.1 keeps out other *machines*, not other *users of this machine*: any
local user can open a loopback port, and a dask scheduler without TLS runs
whatever any client sends it, as the learner.  With TLS, dask checks both
ends: the scheduler and workers accept only a client whose certificate the
cluster's own authority signed, so a plain-TCP client and a client with
certificates of its own are both refused.

A cluster started in one Python process (``montepi.local_cluster``) keeps its
certificates in memory (``distributed.Security.temporary()``).  A cluster
started by hand (``dask scheduler`` / ``dask worker``, Slurm jobs) needs them
as files: :func:`make_certificates` writes them into a folder only you can
read, and by the lesson's convention that folder is ``tls/`` beside the
scheduler file, where :func:`montepi.connect` and the CLI look for them.

The certificates protect who may *talk to* the cluster and what travels
between its processes.  They do not protect the dashboard (plain HTTP) nor
anything from root or from someone who can read your files.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The folder beside a scheduler file where the cluster's certificates live.
FOLDER_NAME = "tls"
#: File names in that folder: the authority that signs, and this cluster's certificate and key.
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"


class CertificatesMissing(ValueError):
    """A TLS cluster was given without certificates, or a certificate file cannot be read."""


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` into a new file that only its owner can read (0600 from the start, not after)."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w") as out:
        out.write(text)


def make_certificates(folder: str | os.PathLike) -> Path:
    """New self-signed certificates in ``folder`` (made, mode 0700; files 0600); returns the folder.

    One key pair serves the scheduler, the workers and the client, and its own
    certificate is the authority: it is valid for this cluster only, and for
    a year.  dask's ``Security.temporary()`` makes it; this writes it down for
    processes started by hand (``dask scheduler --tls-ca-file …``).
    """
    from distributed import Security

    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # mkdir's mode is masked by the umask, and an existing folder keeps its own
    there = [name for name in (CA_FILE, CERT_FILE, KEY_FILE) if (folder / name).exists()]
    if there:
        raise FileExistsError(f"{folder} already holds certificates ({', '.join(there)}), which a running cluster "
                              "may be using: remove that folder or choose another")
    made = Security.temporary()
    _write_private(folder / CA_FILE, made.tls_ca_file)
    _write_private(folder / CERT_FILE, made.tls_client_cert)
    _write_private(folder / KEY_FILE, made.tls_client_key)
    return folder


def options(folder: str | os.PathLike) -> list[str]:
    """The ``--tls-*`` options of ``dask scheduler`` and ``dask worker`` for the certificates in ``folder``.

    >>> options("/p/tls")
    ['--tls-ca-file', '/p/tls/ca.pem', '--tls-cert', '/p/tls/cert.pem', '--tls-key', '/p/tls/key.pem']
    """
    folder = Path(folder)
    return ["--tls-ca-file", str(folder / CA_FILE), "--tls-cert", str(folder / CERT_FILE),
            "--tls-key", str(folder / KEY_FILE)]


def beside(scheduler_file: str | os.PathLike) -> Path:
    """Where the certificates of the cluster with this scheduler file live, by the lesson's convention.

    >>> beside("/home/me/pi/scheduler.json")
    PosixPath('/home/me/pi/tls')
    """
    return Path(scheduler_file).parent / FOLDER_NAME


def security(folder: str | os.PathLike | None = None, *, ca_file: str | os.PathLike | None = None,
             cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None):
    """A ``distributed.Security`` from a certificate folder, or from the three files named one by one.

    The same files serve every role (client, scheduler, worker), as one key
    pair does for the whole cluster: a client passes it to ``Client(…,
    security=…)``, and dask-jobqueue's ``SLURMCluster(security=…)`` puts the
    files' paths into its job script.  Files named one by one win over those
    of the folder.  A file that is missing or unreadable raises
    :class:`CertificatesMissing` with one line saying which.
    """
    from distributed import Security

    chosen = {"ca_file": ca_file, "cert": cert, "key": key}
    if folder is not None:
        defaults = dict(zip(chosen, (CA_FILE, CERT_FILE, KEY_FILE)))
        chosen = {role: path if path is not None else Path(folder) / defaults[role] for role, path in chosen.items()}
    missing = [f"--tls-{role.replace('_', '-')}" for role, path in chosen.items() if path is None]
    if missing:
        raise CertificatesMissing(f"TLS needs three certificate files; {', '.join(missing)} not given")
    for path in chosen.values():
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            raise CertificatesMissing(f"certificate file {str(path)!r} cannot be read "
                                      f"({error.strerror or error})") from None
    cert, key = str(chosen["cert"]), str(chosen["key"])
    return Security(tls_ca_file=str(chosen["ca_file"]), require_encryption=True,
                    **{f"tls_{role}_{part}": path for role in ("client", "scheduler", "worker")
                       for part, path in (("cert", cert), ("key", key))})
