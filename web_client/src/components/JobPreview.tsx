import type { Job } from "../api";
import { previewLabel, type JobPreviewFrame } from "../preview";

interface Props {
  job: Job;
  frame: JobPreviewFrame;
}

/** The worker's rough picture of a running job, where its image will appear: drawn at the job's
 * size (so the real image takes its place without the page moving), from a 64–128 px preview. */
export function JobPreview({ job, frame }: Props) {
  const width = Number(job.params?.width) || 512;
  const height = Number(job.params?.height) || 512;
  const images = Number(job.params?.n) || 1;
  return (
    <figure className="image-card job-preview" data-testid="job-preview-figure">
      <img src={frame.image} alt={previewLabel(frame.step, job.total_steps, images)} width={width} height={height}
        data-testid="job-preview" />
      <figcaption>Preview: rough colours while the steps run{images > 1 ? " (first image)" : ""}.</figcaption>
    </figure>
  );
}
