import { defineMethod } from './method-definition.js';

/** Original CLIP: the image as it is, no mask. */
export const plain = defineMethod({
  name: 'plain',
  summary: 'original CLIP: the unedited image, no mask',
  params: {},
  fills: [],
  prepare: () => ({}),
});
