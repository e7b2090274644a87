"""Trusted HTTPS for kits: the school server answers each kit's CSR with a certificate.

A kit makes its own TLS key, which never leaves it, and sends a PKCS#10 CSR
as a ``tls.csr`` event. During ``kit-server publish`` the server checks the
newest CSR of every kit (:mod:`.csr`), picks an issuer (:mod:`.issue`) and
writes ``kits/<kit>/roster/tls.json`` for the kit to pull:

* ACME DNS-01 (:mod:`.acme_dns01`, DNS changes through :mod:`.dns_update`)
  when ``kit-server acme setup`` was run: a publicly trusted certificate;
* else the school's own name-constrained CA (:mod:`.ca`, exported for MDM
  with :mod:`.mobileconfig`) when ``kit-server ca init`` was run;
* else nothing, and the kit keeps its self-signed certificate.

The name is always ``<kit-id>.<kits-domain>`` (:mod:`.names`), with the kit id
taken from the directory the CSR arrived in. Secrets live in ``ROOT/tls/``
(:mod:`.store`), mode 0600, and are never published or logged.
"""
