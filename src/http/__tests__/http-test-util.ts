/** Small helpers shared by the HTTP tests: build a `Request`, send it through a handler, read the answer. */
import { expect } from 'vitest';
import type { RequestHandler } from '../handle.js';

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: unknown;
}

/** Sends `method path` (with a JSON or raw body) through `handler`; fails the test when the handler answers `null`. */
export async function send(handler: RequestHandler, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body);
  const response = await handler(new Request(`http://localhost${path}`, init));
  expect(response, `${method} ${path} was not handled`).not.toBeNull();
  const text = await response!.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response!.status, headers: response!.headers, text, body: parsed };
}

/** Asserts an error answer: the status, and a body that is exactly `{"error": <string>}` matching `message`. */
export function expectError(answer: Answer, status: number, message?: RegExp): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(answer.body as object)).toEqual(['error']);
  const error = (answer.body as { error: unknown }).error;
  expect(typeof error).toBe('string');
  if (message) expect(error).toMatch(message);
}
