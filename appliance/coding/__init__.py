"""The coding scheme of the method: codes, clips, reflections and what is computed from them.

``annotations`` owns the sealed annotation document of a recording;
``statistics`` computes the per-lesson figures against the norms;
``exports`` writes WebVTT, CSV and ELAN; ``stats_sharing`` queues the
figures for the school server when the teacher opted in. No HTTP here: the
review app (``ui``) only carries these over the wire.
"""
