# Downloads of a config with `fetch: true`: one local job per source of uasbench/inputs/sources.yaml that the config
# needs (on a cluster local rules run on the submitting host, which has the internet; compute jobs go to the nodes).
# Each job writes <data_root>/.fetched/<source>.json, the marker the dataset, prompt, weight and COCO consumers need.
from uasbench.inputs.sources import data_root, stamp_path
from uasbench.inputs.workflow import dataset_stamps, fetched_sources, stamps_for

FETCHED_SOURCES = fetched_sources(config)
DATA_ROOT = str(data_root(config))


def fetch_markers(dataset):
    return dataset_stamps(config, dataset) if FETCHED_SOURCES else []


def coco_markers():
    return stamps_for(config, ("change_pairs.",)) if FETCHED_SOURCES else []


if FETCHED_SOURCES:

    localrules:
        fetch_input,

    rule fetch_input:
        output:
            str(stamp_path(data_root(config), "{source}")),
        wildcard_constraints:
            source="|".join(FETCHED_SOURCES),
        log:
            layout.log_file(config, "fetch", "{source}"),
        shell:
            "{UAS} fetch {wildcards.source} --data-root {DATA_ROOT} --no-progress > {log} 2>&1"
