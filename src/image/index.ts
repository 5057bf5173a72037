// Public API of the image writer (for the CLI, release creation and the podman runtime).
export {
  buildServiceImage,
  buildImageFrom,
  findServiceImage,
  imageRecordOf,
  imageDigestRef,
  imageStream,
  ociTransportRef,
  readImage,
  verifyImageBlobs,
  LABEL,
  type ImageRecord,
  type ImageSources,
  type LayerRole,
  type ServiceImageOptions,
} from './service-image.js';
export { writeImage, imageConfig, IMAGE_MEDIA, ANNOTATION, type Compression, type RunConfig, type WrittenImage } from './oci-image.js';
export { LOG_DIR, APP_DIR, STOP_SIGNAL, PLATFORM_CONTRACT, platformLayerTar } from './platform-layer.js';
export { verifyRelease, type VerifyResult, type ServiceVerification } from './verify.js';
