// esbuild loads CSS as text (dashboard-bundle.ts): the page puts it in a <style>.
declare module '*.css' {
  const text: string;
  export default text;
}
