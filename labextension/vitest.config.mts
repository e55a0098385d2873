// Unit tests of the conversation model and the renderer (jsdom), over the golden fixtures in
// test/fixtures/ and the built cell-view bundle. Times render in UTC so decision lines are stable.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The bundle test imports ../collet_nb/static/message_view.js, outside this folder.
  server: { fs: { allow: ['..'] } },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.ts'],
    env: { TZ: 'UTC' },
    restoreMocks: true
  }
});
