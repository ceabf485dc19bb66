"""Tiny, randomly initialised SDXL, SD3 and FLUX.1 pipelines (tiny_model builds SD 1.x).

Each is its family's real pipeline class with every module shrunk to a few channels and one
or two layers, so the real loading and generation code of each family runs on a CPU in well
under a second. Tokenizers are made here, offline: the CLIP ones from tiny_model's byte-level
vocabulary, the T5 one (SD3, FLUX) as a Unigram model over the same printable bytes.
Layouts follow diffusers' own tests of these pipelines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

T5_MAX_TOKENS = 64
HIDDEN = 32


def clip_tokenizer(staging: Path) -> Any:
    from transformers import CLIPTokenizer

    from .tiny_model import MAX_TOKENS, write_tokenizer_files

    source = staging / "clip_tokenizer_src"
    if not (source / "vocab.json").is_file():
        write_tokenizer_files(source)
    return CLIPTokenizer.from_pretrained(str(source), model_max_length=MAX_TOKENS)


def t5_tokenizer() -> Any:
    """T5's layout (pad 0, eos 1, unk 2) over one piece per printable character, equal scores:
    every word becomes one token per character, which is all a random encoder needs."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)]
    pieces += [(chr(c), -2.0) for c in range(33, 127)]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=T5_MAX_TOKENS)


def clip_encoder(tokenizer: Any, *, projection: bool = False) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from .tiny_model import MAX_TOKENS

    config = CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=2, max_position_embeddings=MAX_TOKENS, projection_dim=HIDDEN,
                            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                            pad_token_id=tokenizer.pad_token_id)
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def t5_encoder(tokenizer: Any, d_model: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=d_model, d_ff=2 * d_model, d_kv=8, num_layers=1,
                                   num_heads=2, relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1,
                                   decoder_start_token_id=0))


def vae(latent_channels: int, **extra: Any) -> Any:
    """Four blocks, so latents are 1/8 of the image as in the real models."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=latent_channels,
                         block_out_channels=(16, 16, 32, 32), down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=1, norm_num_groups=8,
                         sample_size=512, mid_block_add_attention=False, **extra)


def build_sdxl(staging: Path) -> Any:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    tokenizer = clip_tokenizer(staging)
    addition_time_embed_dim = 8
    unet = UNet2DConditionModel(
        sample_size=128, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=addition_time_embed_dim, transformer_layers_per_block=(1, 1),
        # six time ids (sizes and crop) embedded, plus the second encoder's pooled projection
        projection_class_embeddings_input_dim=6 * addition_time_embed_dim + HIDDEN,
        cross_attention_dim=2 * HIDDEN, norm_num_groups=16,
    )
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       steps_offset=1, timestep_spacing="leading")
    return StableDiffusionXLPipeline(vae=vae(4), text_encoder=clip_encoder(tokenizer),
                                     text_encoder_2=clip_encoder(tokenizer, projection=True), tokenizer=tokenizer,
                                     tokenizer_2=tokenizer, unet=unet, scheduler=scheduler, force_zeros_for_empty_prompt=True)


def build_sd3(staging: Path) -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline

    tokenizer, tokenizer_3 = clip_tokenizer(staging), t5_tokenizer()
    # The two CLIP encoders' hidden states side by side are padded to the T5 width: 2 x 32 = 64.
    transformer = SD3Transformer2DModel(sample_size=64, patch_size=2, in_channels=16, num_layers=1, attention_head_dim=8,
                                        num_attention_heads=4, joint_attention_dim=2 * HIDDEN, caption_projection_dim=32,
                                        pooled_projection_dim=2 * HIDDEN, out_channels=16, pos_embed_max_size=96)
    return StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae(16, shift_factor=0.0609, scaling_factor=1.5305, use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=clip_encoder(tokenizer, projection=True), tokenizer=tokenizer,
        text_encoder_2=clip_encoder(tokenizer, projection=True), tokenizer_2=tokenizer,
        text_encoder_3=t5_encoder(tokenizer_3, 2 * HIDDEN), tokenizer_3=tokenizer_3,
    )


def build_flux(staging: Path) -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

    tokenizer, tokenizer_2 = clip_tokenizer(staging), t5_tokenizer()
    # Latents are packed 2x2, so the transformer sees 4 x 16 channels; rope axes sum to the head size.
    transformer = FluxTransformer2DModel(patch_size=1, in_channels=64, num_layers=1, num_single_layers=1,
                                         attention_head_dim=16, num_attention_heads=2, joint_attention_dim=HIDDEN,
                                         pooled_projection_dim=HIDDEN, axes_dims_rope=(4, 4, 8), guidance_embeds=True)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                                                base_image_seq_len=256, max_image_seq_len=4096)
    return FluxPipeline(transformer=transformer, scheduler=scheduler,
                        vae=vae(16, shift_factor=0.1159, scaling_factor=0.3611, use_quant_conv=False, use_post_quant_conv=False),
                        text_encoder=clip_encoder(tokenizer), tokenizer=tokenizer,
                        text_encoder_2=t5_encoder(tokenizer_2, HIDDEN), tokenizer_2=tokenizer_2)


BUILDERS: dict[str, Callable[[Path], Any]] = {"sdxl": build_sdxl, "sd3": build_sd3, "flux": build_flux}
