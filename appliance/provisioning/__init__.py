"""First boot of a freshly flashed kit: provisioning file, identity, keys, label.

See :mod:`appliance.provisioning.firstboot` for how a power cut is survived.
"""
