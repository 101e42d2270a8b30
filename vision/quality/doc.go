// Package quality decides which faces are worth a descriptor. A descriptor
// costs about 22 ms, and one of a small, blurred or turned face is worse
// than none: it lands far from the person's other descriptors and can make
// the identity store believe it sees someone new. Three measures, each
// cheap and pure Go:
//
//   - size: the face's width in pixels (dlib's network sees a 150-pixel
//     chip, upscaled from smaller faces; under 64 pixels, DefaultMinFace,
//     too little of the face is left: docs/pipeline.md);
//   - sharpness: the variance of the Laplacian of the face, resampled to a
//     fixed 96x96 gray picture so that values do not depend on the face's
//     size (motion blur and defocus remove the fine detail the Laplacian
//     measures);
//   - frontalness: where the nose sits between the eyes, from the shape
//     predictor's landmarks (68 points, or dlib's 5) or from YuNet's five
//     (eye centres, nose tip, mouth corners; AssessFive): a face turned by
//     about 35 degrees or more is rejected. YuNet's points see a profile
//     that the shape predictor, drawing a frontal face on any box, misses.
//
// A camera's frame adds a fourth, Cuts: a face whose box reaches the
// frame's edge is only partly in view (the pipeline checks it, since a photo
// may be cropped tight around a whole face).
//
// The score in [0, 1] is the product of the three, each scaled to [0, 1];
// it ranks the faces of one track and becomes the visit's Quality.
package quality
