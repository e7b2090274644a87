"""An Apple configuration profile that installs one root certificate.

MDM systems for iPads (and Apple Configurator) take a ``.mobileconfig``: a
property list with one ``com.apple.security.root`` payload whose
``PayloadContent`` is the certificate's DER. The UUIDs are derived from the
certificate, so exporting twice gives the same file and an MDM sees an
update, not a second profile. The profile is unsigned; MDM signs what it
pushes.

>>> import plistlib
>>> profile = plistlib.loads(root_profile(b"0\\x03\\x02\\x01\\x00", "Lesson kit CA", "kits.school.example"))
>>> payload = profile["PayloadContent"][0]
>>> payload["PayloadType"], payload["PayloadContent"]
('com.apple.security.root', b'0\\x03\\x02\\x01\\x00')
>>> profile["PayloadType"], profile["PayloadIdentifier"]
('Configuration', 'example.school.kits.lessonkit-ca')
"""

from __future__ import annotations

import hashlib
import plistlib
import uuid

_NAMESPACE = uuid.UUID("6d3c58a4-1f1e-4f43-9a39-6f1b2b8a0c11")  # lesson kit profiles


def root_profile(der: bytes, display_name: str, domain: str) -> bytes:
    """The XML plist bytes of a profile that installs the root ``der``."""
    fingerprint = hashlib.sha256(der).hexdigest()
    # Reverse-DNS identifiers, as Apple asks for, from the kits domain.
    base = ".".join(reversed(domain.split("."))) + ".lessonkit-ca"
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": base,
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, "profile:" + fingerprint)).upper(),
        "PayloadDisplayName": display_name,
        "PayloadDescription": f"Trust the lesson kits' review app on *.{domain} (this CA can vouch for no other site).",
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [{
            "PayloadType": "com.apple.security.root",
            "PayloadVersion": 1,
            "PayloadIdentifier": base + ".root",
            "PayloadUUID": str(uuid.uuid5(_NAMESPACE, "root:" + fingerprint)).upper(),
            "PayloadDisplayName": display_name,
            "PayloadCertificateFileName": "school-ca.der",
            "PayloadContent": der,
        }],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
