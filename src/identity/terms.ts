// Terms of service in Sydent's YAML format (TERMS_PATH): master_version, and
// docs → name → {version, langs → lang → {name, url}}. No file: nothing to accept.
import { readFileSync } from 'node:fs';
import { and, eq, inArray } from 'drizzle-orm';
import { parse } from 'yaml';
import { identityAcceptedTerms, identityAccounts } from '../db/schema/index.ts';
import { matrixError } from './errors.ts';
import type { IdentityService } from './service.ts';

export type Policies = Record<string, { version: string } & Record<string, { name: string; url: string } | string>>;

export interface Terms {
  masterVersion?: string;
  policies: Policies;
  /** The URLs of each document, any one of which accepts it. */
  documents: Map<string, Set<string>>;
}

export function loadTerms(termsPath: string | undefined): Terms {
  const terms: Terms = { policies: {}, documents: new Map() };
  if (!termsPath) return terms;
  const raw = parse(readFileSync(termsPath, 'utf8')) as {
    master_version?: unknown;
    docs?: Record<string, { version?: unknown; langs?: Record<string, { name?: unknown; url?: unknown }> }>;
  };
  if (!raw || raw.master_version === undefined) throw new Error(`${termsPath}: master_version is missing`);
  terms.masterVersion = String(raw.master_version);
  for (const [name, doc] of Object.entries(raw.docs ?? {})) {
    const policy: Policies[string] = { version: String(doc.version ?? '') };
    const urls = new Set<string>();
    for (const [lang, entry] of Object.entries(doc.langs ?? {})) {
      if (typeof entry?.url !== 'string') throw new Error(`${termsPath}: docs.${name}.langs.${lang}.url is missing`);
      policy[lang] = { name: String(entry.name ?? name), url: entry.url };
      urls.add(entry.url);
    }
    terms.policies[name] = policy;
    terms.documents.set(name, urls);
  }
  return terms;
}

/** M_TERMS_NOT_SIGNED until the account's consent is the current master version. */
export function assertTermsAccepted(terms: Terms, consentVersion: string | null): void {
  if (terms.masterVersion !== undefined && consentVersion !== terms.masterVersion) {
    throw matrixError(403, 'M_TERMS_NOT_SIGNED', 'Terms not signed');
  }
}

/** Adds URLs to the account's accepted set; when every document has one, the account consents to the master version. */
export async function acceptTerms(s: IdentityService, userId: string, urls: string[]): Promise<void> {
  const known = new Set([...s.terms.documents.values()].flatMap((set) => [...set]));
  const unknown = urls.filter((url) => !known.has(url));
  if (unknown.length > 0) throw matrixError(400, 'M_UNRECOGNIZED', `Unrecognised URLs: ${unknown.join(', ')}`);
  await s.k.db.transaction(async (tx) => {
    if (urls.length > 0) {
      await tx
        .insert(identityAcceptedTerms)
        .values([...new Set(urls)].map((url) => ({ userId, url })))
        .onConflictDoNothing();
    }
    if (s.terms.masterVersion === undefined) return;
    const all = [...known];
    const accepted = new Set(
      all.length === 0
        ? []
        : (
            await tx
              .select({ url: identityAcceptedTerms.url })
              .from(identityAcceptedTerms)
              .where(and(eq(identityAcceptedTerms.userId, userId), inArray(identityAcceptedTerms.url, all)))
          ).map((row) => row.url),
    );
    const everyDocument = [...s.terms.documents.values()].every((doc) => [...doc].some((url) => accepted.has(url)));
    if (everyDocument) await tx.update(identityAccounts).set({ consentVersion: s.terms.masterVersion }).where(eq(identityAccounts.userId, userId));
  });
}
