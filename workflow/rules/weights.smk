# Pretrained weights: a config that claims them stops here, before the first job, when one resolves to random (each
# job's command checks again). UASBENCH_SKIP_ROOT_CHECK=1 plans the DAG on a machine without data or weights.
from uasbench.pipeline.weights import check_needs, config_needs

if not os.environ.get("UASBENCH_SKIP_ROOT_CHECK"):
    try:
        check_needs(config_needs(config, refusable_only=True))
    except UasbenchError as err:
        raise WorkflowError(str(err))
