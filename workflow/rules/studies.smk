# Every study's jobs, derived from its declaration (STUDY in src/actbench/studies/<name>.py,
# an actbench.studies.unit.Study). The same few rule templates serve every study; each
# study gets its own copies, named after it, so that `--forcerun kernels` and the SLURM
# profile's `set-resources: kernels:` name a study:
#
#   <study>         one-job study: runs it -> results/<hw>/<study>.parquet
#                   split study: merges its parts into that file
#   <study>_part    one job of a split study -> results/<hw>/parts/<study>/<job>.parquet
#   <study>_timing  a timing job of a split study (e.g. mistakes' CNN step time)
#
# A job's command passes every parameter of the study's config section as flags (so a
# changed setting reruns it) plus --part <job>. Timing jobs take every slot (common.smk),
# so no other job shares the cores. Results are deterministic given the seed and the
# machine, so the other jobs may use Snakemake's between-workflow cache (`--cache`); the
# hardware id is a parameter so that machines sharing a cache never swap results. A job
# replaces its file whatever settings made the old one: Snakemake removes a job's outputs
# before it runs it, and on a cluster, where it removes only the link it tracks, the
# link folder (ACTBENCH_LINK_DIR) tells the job it runs in the pipeline (a study run by
# hand refuses that unless asked: actbench.results.check_settings). Job
# lists and flags come from the helpers in common.smk. The study's name reaches the shell
# command through `params`, never as a loop variable in the command: Snakemake formats the
# command when the job runs, after the loop has moved on.

for _study in UNITS:
    _unit = UNITS[_study]
    _flags = study_flags(_study)
    _slots = ALL_SLOTS if not _unit.split and _unit.timing(_study) else 1

    if not _unit.split:

        rule:
            name:
                _study
            output:
                result(_study),
            log:
                f"logs/{_study}.log",
            conda:
                CONDA_ENV
            resources:
                slots=_slots,
            cache: _slots == 1
            params:
                hw=HW,
                py=PY,
                study=_study,
                results=lambda wildcards: RESULTS,
                flags=_flags,
            shell:
                "{params.py} {params.study} --results {params.results} {params.flags} > {log} 2>&1"

        continue

    for _suffix, _jobs, _slots in [("part", PART_JOBS[_study], 1), ("timing", TIMING_JOBS[_study], ALL_SLOTS)]:
        if not _jobs:
            continue

        rule:
            name:
                f"{_study}_{_suffix}"
            output:
                f"{PARTS}/{_study}/{{job}}.parquet",
            wildcard_constraints:
                job=any_of(_jobs),
            log:
                f"logs/{_study}/{{job}}.log",
            conda:
                CONDA_ENV
            threads: 1
            resources:
                slots=_slots,
            cache: _slots == 1
            params:
                hw=HW,
                py=PY,
                study=_study,
                results=lambda wildcards: RESULTS,
                flags=_flags,
            shell:
                "{params.py} {params.study} --results {params.results} --part {wildcards.job} --threads {threads} "
                "{params.flags} > {log} 2>&1"

    rule:
        name:
            _study
        input:
            [f"{PARTS}/{_study}/{job}.parquet" for job in study_jobs(_study)],
        output:
            result(_study),
        log:
            f"logs/{_study}/merge.log",
        conda:
            CONDA_ENV
        resources:
            slots=1,
        params:
            py=PY,
            study=_study,
            results=lambda wildcards: RESULTS,
        shell:
            "{params.py} {params.study} --results {params.results} --merge {input} > {log} 2>&1"
