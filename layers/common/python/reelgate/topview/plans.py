"""What each kind of TopView job does, step by step: the task family of each step and how it is
submitted from the job's input (uploaded file ids included) and what earlier steps recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reelgate.jobs import Job
from reelgate.providers.topview import Family, Submitted, TopViewClient
from reelgate.settings import Settings

Submit = Callable[[TopViewClient, Job, str | None, Settings], Submitted]

TEXT2VIDEO = "topview.text2video"
IMAGE2VIDEO = "topview.image2video"
TEXT2IMAGE = "topview.text2image"
VIDEO_AVATAR = "topview.video_avatar"
PRODUCT_AVATAR = "topview.product_avatar"
MARKETING_VIDEO = "topview.marketing_video"
MARKETING_EXPORT = "topview.marketing_video_export"


@dataclass(frozen=True)
class Step:
    family: Family
    submit: Submit


def _files(job: Job, name: str) -> list[str]:
    return list((job.input.get("file_ids") or {}).get(name) or [])


def _file(job: Job, name: str) -> str | None:
    found = _files(job, name)
    return found[0] if found else None


def _text2video(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    return tv.submit_text2video(prompt=i["prompt"], model=s.topview_text2video_model, duration=i.get("duration"),
                                aspect_ratio=i.get("aspect_ratio"), notice_url=notice)


def _image2video(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    image = _file(job, "image")
    assert image is not None
    return tv.submit_image2video(image_file_id=image, prompt=i["prompt"], duration=int(i.get("duration") or 5),
                                 mode=i.get("mode") or "lite", notice_url=notice)


def _text2image(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    return tv.submit_text2image(prompt=i["prompt"], model=s.topview_text2image_model,
                                aspect_ratio=i.get("aspect_ratio"), notice_url=notice)


def _video_avatar(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    extra = {"aspectRatio": i["aspect_ratio"]} if i.get("aspect_ratio") else None  # [?] not in §8.1
    return tv.submit_video_avatar(avatar_id=i["avatar_id"], text=i["text"], voice_id=i.get("voice_id"),
                                  voice_speed=float(i.get("voice_speed") or 1.0), notice_url=notice, extra=extra)


def _product_replace(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    product = _file(job, "product_image")
    assert product is not None
    masks = {"productMaskFileId": _file(job, "product_mask"), "templateMaskFileId": _file(job, "template_mask")}
    extra = {k: v for k, v in masks.items() if v} if s.topview_send_masks else None  # [?] names from AnyShoot §10
    return tv.submit_product_replace(product_image_file_id=product, image_edit_prompt=i["prompt"],
                                     avatar_id=i.get("avatar_id"), template_image_file_id=_file(job, "template_image"),
                                     product_size=i.get("product_size"), notice_url=notice, extra=extra or None)


def _product_video(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    key = (job.provider or {}).get("replace_key")
    if not key:
        raise ValueError("the product video step needs the replace step's productReplaceResultKey")
    return tv.submit_product_video(replace_result_key=str(key), mode=job.input.get("mode") or "lite",
                                   prompt=job.input.get("prompt"), notice_url=notice)


def _m2v(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    return tv.submit_m2v(product_link=i.get("product_link"), file_ids=_files(job, "files") or None,
                         product_name=i.get("product_name"), product_description=i.get("product_description"),
                         aspect_ratio=i.get("aspect_ratio"), language=i.get("language"), voice_id=i.get("voice_id"),
                         avatar_id=i.get("avatar_id"), video_length_type=i.get("video_length_type"), notice_url=notice)


def _m2v_export(tv: TopViewClient, job: Job, notice: str | None, s: Settings) -> Submitted:
    i = job.input
    return tv.export_m2v(str(i["m2v_task_id"]), script_id=int(i.get("script_id") or 0), notice_url=notice)


PLANS: dict[str, tuple[Step, ...]] = {
    TEXT2VIDEO: (Step(Family.TEXT2VIDEO, _text2video),),
    IMAGE2VIDEO: (Step(Family.IMAGE2VIDEO, _image2video),),
    TEXT2IMAGE: (Step(Family.TEXT2IMAGE, _text2image),),
    VIDEO_AVATAR: (Step(Family.VIDEO_AVATAR, _video_avatar),),
    PRODUCT_AVATAR: (Step(Family.PRODUCT_REPLACE, _product_replace), Step(Family.PRODUCT_VIDEO, _product_video)),
    MARKETING_VIDEO: (Step(Family.M2V, _m2v),),
    MARKETING_EXPORT: (Step(Family.M2V_EXPORT, _m2v_export),),
}


def steps(kind: str) -> tuple[Step, ...]:
    return PLANS[kind]


def script_id(job: Job) -> int:
    """The M2V script an export follows (its query is the M2V task's, filtered to that script)."""
    return int(job.input.get("script_id") or 0) if job.kind == MARKETING_EXPORT else 0

