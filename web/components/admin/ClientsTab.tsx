'use client';
// Service clients (API v2, problem+json errors): the list, a form to create
// one, the once-only secret, and delete.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { shortId } from '@/lib/format';
import { api } from '@/lib/api';
import { useSession } from '@/lib/session';
import { errorText, seg, useList, useUserEmails, validScope, when, type CreatedClient, type ServiceClient } from '@/lib/admin';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { ConfirmDialog } from '@/components/ui/ConfirmDialog';
import { TextField } from '@/components/ui/TextField';
import { Badge } from './Badge';
import { Dialog } from './Dialog';
import { EditorActions, editorClass } from './Fields';
import { ListStatus } from './ListStatus';

const MAX_SCOPES = 32;

const loadClients = (signal: AbortSignal) =>
  api<{ clients: ServiceClient[] }>('GET', '/api/v2/clients', undefined, { signal }).then((r) => r.clients ?? []);

export function ClientsTab() {
  const { state, reload, update } = useList(loadClients);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedClient | null>(null);
  const [doomed, setDoomed] = useState<ServiceClient | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const newButton = useRef<HTMLButtonElement>(null);

  const remove = async () => {
    if (!doomed || deleting) return;
    setDeleting(true);
    setDeleteError(null);
    try {
      await api<void>('DELETE', `/api/v2/clients/${seg(doomed.client_id)}`);
      update((items) => items.filter((c) => c.client_id !== doomed.client_id));
      setNotice(`Client ${doomed.name} deleted; its tokens stop working.`);
      setDoomed(null);
    } catch (e) {
      setDeleteError(errorText(e));
    } finally {
      setDeleting(false);
    }
  };

  const clients = state.items ?? [];
  const { permissions } = useSession();
  const creators = useUserEmails(
    clients.map((c) => c.created_by).filter(Boolean),
    permissions.includes('users:read'),
  );
  return (
    <section aria-labelledby="clients-heading">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="clients-heading" className="text-lg font-semibold text-zinc-900 dark:text-zinc-50">
          Service clients
        </h2>
        <Button
          ref={newButton}
          disabled={creating}
          onClick={() => {
            setNotice(null);
            setCreating(true);
          }}
        >
          New client
        </Button>
      </div>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Machines sign in with a client ID and secret (OAuth 2.0 client credentials) and get tokens carrying the scopes you allow.
      </p>
      <p role="status" className="mt-2 text-sm text-emerald-800 empty:hidden dark:text-emerald-300">
        {notice ?? ''}
      </p>

      {creating && (
        <NewClientForm
          onCancel={() => {
            setCreating(false);
            requestAnimationFrame(() => newButton.current?.focus());
          }}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            const { client_secret: _secret, ...listed } = c;
            update((items) => [listed, ...items]);
          }}
        />
      )}

      <ListStatus state={state} noun="service clients" onRetry={reload} empty="No service clients yet." />
      {clients.length > 0 && (
        <ul aria-label="Service clients" className="mt-4 divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-700 dark:border-zinc-700">
          {clients.map((c) => (
            <li key={c.client_id} className="flex flex-col gap-3 p-4 sm:flex-row sm:items-start sm:justify-between">
              <div id={`client-${c.client_id}`} className="min-w-0 text-sm">
                <p className="font-semibold text-zinc-900 dark:text-zinc-100">{c.name}</p>
                <p className="mt-0.5 text-zinc-600 dark:text-zinc-400">
                  ID <code className="break-all text-zinc-800 dark:text-zinc-200">{c.client_id}</code>
                </p>
                <p className="mt-0.5 text-zinc-600 dark:text-zinc-400">
                  Created {when(c.created_at)}
                  {c.created_by && (
                    <>
                      {' '}
                      by{' '}
                      {creators[c.created_by] ?? (
                        <>
                          user <code title={c.created_by}>{shortId(c.created_by)}</code>
                        </>
                      )}
                    </>
                  )}
                </p>
                <p className="mt-2 flex flex-wrap gap-1">
                  {c.scopes.length === 0 ? (
                    <span className="text-zinc-600 dark:text-zinc-400">No scopes</span>
                  ) : (
                    c.scopes.map((s) => <Badge key={s}>{s}</Badge>)
                  )}
                </p>
              </div>
              <Button
                variant="secondary"
                className="self-start"
                aria-describedby={`client-${c.client_id}`}
                onClick={() => {
                  setNotice(null);
                  setDeleteError(null);
                  setDoomed(c);
                }}
              >
                Delete client
              </Button>
            </li>
          ))}
        </ul>
      )}

      <ConfirmDialog
        open={doomed !== null}
        title="Delete this client?"
        confirmLabel="Delete"
        destructive
        pending={deleting}
        error={deleteError}
        onConfirm={remove}
        onCancel={() => setDoomed(null)}
      >
        <p>
          <span className="font-medium">{doomed?.name}</span> can no longer get tokens, and the tokens it holds stop working. This can't be
          undone.
        </p>
      </ConfirmDialog>

      <SecretDialog
        client={created}
        onClose={() => {
          setCreated(null);
          requestAnimationFrame(() => newButton.current?.focus());
        }}
      />
    </section>
  );
}

function NewClientForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (c: CreatedClient) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [scopesError, setScopesError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => {
    first.current?.focus();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    const n = name.trim();
    const list = [...new Set(scopes.split(/[\s,]+/).filter(Boolean))];
    const bad = list.find((s) => !validScope(s));
    const nErr = n ? null : 'Give the client a name.';
    const sErr = bad
      ? `“${bad.slice(0, 40)}” is not a scope: printable ASCII without spaces, quotes or backslashes, at most 128 characters.`
      : list.length > MAX_SCOPES
        ? `At most ${MAX_SCOPES} scopes.`
        : null;
    setNameError(nErr);
    setScopesError(sErr);
    setError(null);
    if (nErr || sErr) return;
    setPending(true);
    try {
      onCreated(await api<CreatedClient>('POST', '/api/v2/clients', { name: n, scopes: list }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setPending(false);
    }
  };

  return (
    <form
      onSubmit={submit}
      noValidate
      aria-label="New client"
      className={editorClass}
    >
      <h3 className="text-base font-semibold text-zinc-900 dark:text-zinc-50">New client</h3>
      <div className="mt-4 grid gap-4 sm:grid-cols-2">
        <TextField
          ref={first}
          label="Name"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setNameError(null);
          }}
          error={nameError}
          autoComplete="off"
          required
          maxLength={200}
        />
        <TextField
          label="Scopes"
          value={scopes}
          onChange={(e) => {
            setScopes(e.target.value);
            setScopesError(null);
          }}
          error={scopesError}
          hint="Separated by spaces, e.g. orders:read orders:write"
          autoComplete="off"
          spellCheck={false}
          autoCapitalize="off"
        />
      </div>
      <EditorActions error={error} pending={pending} submitLabel="Create client" onCancel={onCancel} />
    </form>
  );
}

type CopyState = 'idle' | 'copied' | 'failed';

function SecretDialog({ client, onClose }: { client: CreatedClient | null; onClose: () => void }) {
  const [copy, setCopy] = useState<CopyState>('idle');
  const secretRef = useRef<HTMLInputElement>(null);
  const copyRef = useRef<HTMLButtonElement>(null);

  useEffect(() => setCopy('idle'), [client]);

  const doCopy = async () => {
    if (!client) return;
    try {
      await navigator.clipboard.writeText(client.client_secret);
      setCopy('copied');
    } catch {
      // Without clipboard access (an http origin, a denied permission) the
      // secret is selected so the keyboard copy works.
      secretRef.current?.select();
      setCopy('failed');
    }
  };

  return (
    <Dialog open={client !== null} title="Client created" onClose={onClose} initialFocus={copyRef}>
      {client && (
        <div className="space-y-4 text-sm">
          <Alert tone="warning" title="This secret is shown once">
            Store it now in your secret manager: authd keeps only its hash and can&apos;t show it again.
          </Alert>
          <div>
            <p className="font-medium text-zinc-800 dark:text-zinc-200">Client ID</p>
            <code className="mt-1 block break-all rounded bg-zinc-100 px-2 py-1.5 dark:bg-zinc-800">{client.client_id}</code>
          </div>
          <div>
            <label htmlFor="client-secret" className="font-medium text-zinc-800 dark:text-zinc-200">
              Client secret
            </label>
            <div className="mt-1 flex gap-2">
              <input
                id="client-secret"
                ref={secretRef}
                readOnly
                value={client.client_secret}
                onFocus={(e) => e.currentTarget.select()}
                spellCheck={false}
                className="block w-full min-w-0 rounded-lg border border-zinc-300 bg-zinc-50 px-3 py-2 font-mono text-xs text-zinc-900 dark:border-zinc-600 dark:bg-zinc-800 dark:text-zinc-100"
              />
              <Button ref={copyRef} variant="secondary" onClick={doCopy}>
                Copy
              </Button>
            </div>
            <p role="status" className="mt-1 min-h-5 text-sm text-zinc-700 dark:text-zinc-300">
              {copy === 'copied' ? 'Copied to the clipboard.' : copy === 'failed' ? 'Could not copy: the secret is selected, press Ctrl+C (⌘C).' : ''}
            </p>
          </div>
          <div className="flex justify-end">
            <Button onClick={onClose}>Done</Button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
