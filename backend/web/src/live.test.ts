import { describe, expect, it } from 'vitest';
import { parseSse } from './live';

describe('server-sent events', () => {
  it('names complete events, skips keep-alive comments and keeps an unfinished event for later', () => {
    expect(parseSse('event: ready\ndata: \n\n:\n\nevent: attendance\ndata: \n\nevent: atten')).toEqual({ events: ['ready', 'attendance'], rest: 'event: atten' });
    const next = parseSse('event: atten' + 'dance\r\ndata: \r\n\r\n');
    expect(next).toEqual({ events: ['attendance'], rest: '' });
    expect(parseSse('data: x\n\n')).toEqual({ events: ['message'], rest: '' });
  });
});
