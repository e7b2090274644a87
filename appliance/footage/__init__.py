"""Encrypted, segmented footage: fragmented MP4 → ~2 s age-encrypted segments.

``recorder`` writes a recording, ``store`` lists, recovers and reads the
sealed files, ``plaintext_scan`` proves no plaintext media reached the disk.
"""
