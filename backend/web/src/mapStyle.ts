import type { StyleSpecification } from 'maplibre-gl';

/**
 * The maps' style when no basemap is configured: a plain background, so geofences, punches and
 * tracks draw without any tile server.
 */
export const PLAIN_STYLE: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9eef2' } }],
};
