// The hosted pages: a static export served by authd under /ui/ (see
// internal/ui). The build must be reproducible: CI rebuilds it and fails
// when the committed export differs, so the build id is fixed.
/** @type {import('next').NextConfig} */
export default {
  output: 'export',
  basePath: '/ui',
  trailingSlash: true,
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  generateBuildId: async () => 'authd',
};
