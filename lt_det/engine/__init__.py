from .stage_schedule import Stage, StageScheduleHook, build_stage_schedule_hook, parse_stages
from .trainer import LTTrainer

__all__ = ["LTTrainer", "Stage", "StageScheduleHook", "build_stage_schedule_hook", "parse_stages"]
