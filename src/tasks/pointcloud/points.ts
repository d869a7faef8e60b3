/** x, y, z of each point, interleaved and in file order: [x0, y0, z0, x1, y1, z1, ...]. */
export type PointsXYZ = Float32Array;

/**
 * How far PointCLIP's depth projection moves the rotated cloud along the viewing axis (camera
 * translation (0, 0, −1.6)): points farther than this from the origin can fall behind the camera,
 * which the importer warns about.
 */
export const CAMERA_DISTANCE = 1.6;
