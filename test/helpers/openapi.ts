/**
 * Checks API responses against the OpenAPI document the server publishes: the document must pass
 * the OpenAPI 3.1 schema, and each response's status, media type and JSON body must be the ones
 * documented for its route (JSON bodies validated with Ajv, JSON Schema 2020-12).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Exchange } from '../../src/api/client.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ID = 'https://hoard.invalid/openapi.json';

type Doc = {
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }>
  >;
};

export interface ResponseChecker {
  /** Throws when the exchange is not what the document says. */
  check(x: Exchange): void;
  /** `operationId status` of every exchange checked. */
  seen: Set<string>;
}

/** Validates `doc` as OpenAPI; throws with the validator's errors when it is not valid. */
export async function validateDocument(doc: unknown): Promise<void> {
  const res = await new Validator().validate(doc as Record<string, unknown>);
  if (!res.valid) throw new Error(`the OpenAPI document is not valid: ${JSON.stringify(res.errors, null, 2)}`);
}

export async function responseChecker(doc: unknown): Promise<ResponseChecker> {
  await validateDocument(doc);
  const d = doc as Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...(doc as object), $id: ID });
  // literal paths first, so /backups/restore wins over /backups/{id}
  const templates = Object.keys(d.paths)
    .map((p) => ({ p, params: (p.match(/\{/g) ?? []).length, re: new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`) }))
    .sort((a, b) => a.params - b.params);
  const seen = new Set<string>();
  const pointer = (...parts: string[]) => parts.map((x) => x.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  return {
    seen,
    check(x) {
      const method = x.method.toLowerCase();
      const route = x.path.split('?')[0];
      const t = templates.find((c) => c.re.test(route) && d.paths[c.p][method]);
      if (!t) {
        if (x.status === 404) return; // no such route: the 404 handler, documented nowhere
        throw new Error(`${x.method} ${route} is not in the OpenAPI document`);
      }
      const op = d.paths[t.p][method];
      const r = op.responses[String(x.status)];
      if (!r)
        throw new Error(
          `${x.method} ${route} answered ${x.status}, which the document does not list for ${op.operationId}`,
        );
      const media = x.contentType.split(';')[0].trim();
      if (!r.content?.[media])
        throw new Error(
          `${x.method} ${route} ${x.status} sent ${media || 'no content type'}; the document says ${Object.keys(r.content ?? {}).join(', ')}`,
        );
      if (media === 'application/json') {
        const ref = `${ID}#/${pointer('paths', t.p, method, 'responses', String(x.status), 'content', media, 'schema')}`;
        const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
        if (!validate(x.body))
          throw new Error(
            `${x.method} ${route} ${x.status}: the body does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(x.body).slice(0, 2000)}`,
          );
      }
      seen.add(`${op.operationId} ${x.status}`);
    },
  };
}
