// esbuild's text loader turns a .css import into its source string (see package.json "build").
declare module "*.css" {
  const source: string;
  export default source;
}
