/** HS256 secret of the passport-jwt variant; the driver signs its token with it. */
export const JWT_SECRET = 'benchmark-secret-of-reasonable-length-0123456789';
