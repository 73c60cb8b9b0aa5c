from .param_decoupling import ParamDecouplingHook, build_param_decoupling_hook
from .stage_schedule import Stage, StageScheduleHook, build_stage_schedule_hook, parse_stages
from .trainer import LTTrainer

__all__ = ["LTTrainer", "ParamDecouplingHook", "build_param_decoupling_hook", "Stage", "StageScheduleHook", "build_stage_schedule_hook", "parse_stages"]
