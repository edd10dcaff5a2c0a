import { useState } from 'react';
import { Badge, Button, Group, Modal, NativeSelect, Stack, Tabs, Text, Textarea, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { ConfirmButton, useRowAction } from '../components/Confirm';
import { QueryView, RowsTable, type Column } from '../components/DataTable';
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import { formatDateTime } from '../dates';
import { useEmployeeNames } from '../hooks/useEmployeeNames';
import { describeCorrection, requestColor } from '../privacy';

type CorrectionRequest = components['schemas']['EmployeeCorrectionRequest'];

/** The privacy queues: correction requests (administrators and operators, within their scope) and erasure requests (administrators). */
export function PrivacyRequestsPage({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const [tab, setTab] = useState<string | null>('corrections');
  return (
    <Stack>
      <Title order={2}>{t('privacy.queueTitle')}</Title>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="corrections">{t('privacy.corrections')}</Tabs.Tab>
          {admin && <Tabs.Tab value="erasures">{t('privacy.erasures')}</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="corrections" pt="md">
          <Corrections />
        </Tabs.Panel>
        {admin && (
          <Tabs.Panel value="erasures" pt="md">
            <Erasures />
          </Tabs.Panel>
        )}
      </Tabs>
    </Stack>
  );
}

/** A queue: a state filter (`any`: the value meaning every state), then its requests. */
function Queue<S extends string, Row extends { id: string }>({
  states,
  state,
  onState,
  any,
  query,
  label,
  empty,
  columns,
}: {
  states: readonly S[];
  state: S;
  onState: (s: S) => void;
  any: S;
  query: UseQueryResult<Row[]>;
  label: string;
  empty: string;
  columns: readonly Column<Row>[];
}) {
  const { t } = useTranslation();
  return (
    <>
      <NativeSelect
        label={t('privacy.state')}
        w={220}
        value={state}
        onChange={(e) => onState(e.currentTarget.value as S)}
        data={states.map((s) => ({ value: s, label: s === any ? t('events.any') : t(`privacy.states.${s}`, { defaultValue: s }) }))}
      />
      <QueryView query={query} isEmpty={(d) => d.length === 0} emptyText={empty}>
        {(rows) => <RowsTable label={label} rows={rows} rowKey={(r) => r.id} columns={columns} />}
      </QueryView>
    </>
  );
}

const CORRECTION_STATES = ['pending', 'accepted', 'rejected', 'all'] as const;

function Corrections() {
  const { t, i18n } = useTranslation();
  const when = (iso: string) => formatDateTime(iso, undefined, i18n.language);
  const [state, setState] = useState<(typeof CORRECTION_STATES)[number]>('pending');
  const list = useQuery({ queryKey: ['correction-requests', state], queryFn: () => unwrap(api.GET('/api/v1/correction-requests', { params: { query: { state } } })) });
  const [deciding, setDeciding] = useState<{ r: CorrectionRequest; accept: boolean } | null>(null);
  return (
    <Stack>
      <Queue
        states={CORRECTION_STATES}
        state={state}
        onState={setState}
        any="all"
        query={list}
        label={t('privacy.corrections')}
        empty={t('privacy.noCorrections')}
        columns={[
          { header: t('privacy.filed'), cell: (r) => when(r.created_at) },
          { header: t('events.employee'), cell: (r) => r.employee_name },
          { header: t('privacy.request'), cell: (r) => describeCorrection(r, t, when) },
          { header: t('review.comment'), cell: (r) => r.comment },
          { header: t('privacy.state'), cell: (r) => <Badge color={requestColor(r.state)}>{t(`privacy.states.${r.state}`, { defaultValue: r.state })}</Badge> },
          {
            header: '',
            cell: (r) =>
              r.state === 'pending' ? (
                <Group gap="xs" wrap="nowrap">
                  <Button size="xs" color="green" aria-label={`${t('review.accept')} ${r.employee_name}`} onClick={() => setDeciding({ r, accept: true })}>
                    {t('review.accept')}
                  </Button>
                  <Button size="xs" variant="light" color="red" aria-label={`${t('review.reject')} ${r.employee_name}`} onClick={() => setDeciding({ r, accept: false })}>
                    {t('review.reject')}
                  </Button>
                </Group>
              ) : (
                r.decision_comment ?? ''
              ),
          },
        ]}
      />
      {deciding && <DecideDialog r={deciding.r} accept={deciding.accept} onClose={() => setDeciding(null)} />}
    </Stack>
  );
}

/** Approve or reject one correction request; a rejection needs a reason, shown to the employee. */
function DecideDialog({ r, accept, onClose }: { r: CorrectionRequest; accept: boolean; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const decide = useRowAction(
    (comment: string) => unwrap(api.POST('/api/v1/correction-requests/{id}/decide', { params: { path: { id: r.id } }, body: { decision: accept ? 'accept' : 'reject', comment: comment || null } })),
    [['correction-requests'], ['events']],
    accept ? t('privacy.accepted') : t('privacy.rejected'),
  );
  const label = accept ? t('review.accept') : t('review.reject');
  return (
    <ReasonDialog
      title={`${label}: ${r.employee_name}`}
      what={describeCorrection(r, t, (iso) => formatDateTime(iso, undefined, i18n.language))}
      field={accept ? t('review.comment') : t('privacy.reason')}
      required={!accept}
      action={label}
      color={accept ? 'green' : 'red'}
      mutation={decide}
      onClose={onClose}
    />
  );
}

/**
 * A decision with a comment: Cancel, or the action (a required comment is checked first); the
 * dialog closes once the server has it.
 */
function ReasonDialog({
  title,
  what,
  field,
  required,
  action,
  color,
  mutation,
  onClose,
}: {
  title: string;
  what?: string;
  field: string;
  required: boolean;
  action: string;
  color: string;
  mutation: { isPending: boolean; mutate: (text: string, opts: { onSuccess: () => void }) => void };
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal opened onClose={onClose} title={title}>
      <Stack>
        {what && <Text size="sm">{what}</Text>}
        <Textarea
          label={field}
          value={text}
          error={error}
          onChange={(e) => {
            setText(e.currentTarget.value);
            setError(null);
          }}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {t('app.cancel')}
          </Button>
          <Button
            color={color}
            loading={mutation.isPending}
            onClick={() => {
              if (required && !text.trim()) {
                setError(t('app.required'));
                return;
              }
              mutation.mutate(text.trim(), { onSuccess: onClose });
            }}
          >
            {action}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

const ERASURE_STATES = ['pending', 'approved', 'done', 'refused', ''] as const;

function Erasures() {
  const { t, i18n } = useTranslation();
  const when = (iso: string) => formatDateTime(iso, undefined, i18n.language);
  const [state, setState] = useState<(typeof ERASURE_STATES)[number]>('pending');
  const list = useQuery({ queryKey: ['erasure-requests', state], queryFn: () => unwrap(api.GET('/api/v1/erasure-requests', { params: { query: { state: state || undefined } } })) });
  const name = useEmployeeNames((list.data ?? []).map((r) => r.employee_id));
  const approve = useRowAction((id: string) => unwrap(api.POST('/api/v1/erasure-requests/{id}/approve', { params: { path: { id } } })), [['erasure-requests']], t('privacy.erasureApproved'));
  const [refusing, setRefusing] = useState<{ id: string; who: string } | null>(null);
  return (
    <Stack>
      <Queue
        states={ERASURE_STATES}
        state={state}
        onState={setState}
        any=""
        query={list}
        label={t('privacy.erasures')}
        empty={t('privacy.noErasures')}
        columns={[
          { header: t('privacy.filed'), cell: (r) => when(r.requested_at) },
          { header: t('events.employee'), cell: (r) => name(r.employee_id) },
          { header: t('privacy.erasureScope'), cell: (r) => t(`privacy.scopes.${r.scope}`, { defaultValue: r.scope }) },
          { header: t('review.comment'), cell: (r) => r.comment ?? '' },
          { header: t('privacy.state'), cell: (r) => <Badge color={requestColor(r.state)}>{t(`privacy.states.${r.state}`, { defaultValue: r.state })}</Badge> },
          {
            header: '',
            cell: (r) =>
              r.state === 'pending' ? (
                <Group gap="xs" wrap="nowrap">
                  <ConfirmButton
                    color="red"
                    label={`${t('privacy.approveErasure')} ${name(r.employee_id)}`}
                    question={t('privacy.erasureQuestion', { name: name(r.employee_id), what: t(`privacy.erases.${r.scope}`, { defaultValue: r.scope }) })}
                    loading={approve.isPending && approve.variables === r.id}
                    onConfirm={() => approve.mutate(r.id)}
                  >
                    {t('privacy.approveErasure')}
                  </ConfirmButton>
                  <Button size="xs" variant="light" aria-label={`${t('privacy.refuse')} ${name(r.employee_id)}`} onClick={() => setRefusing({ id: r.id, who: name(r.employee_id) })}>
                    {t('privacy.refuse')}
                  </Button>
                </Group>
              ) : (
                r.refusal_reason ?? (r.finished_at ? when(r.finished_at) : '')
              ),
          },
        ]}
      />
      {refusing && <RefuseDialog {...refusing} onClose={() => setRefusing(null)} />}
    </Stack>
  );
}

function RefuseDialog({ id, who, onClose }: { id: string; who: string; onClose: () => void }) {
  const { t } = useTranslation();
  const refuse = useRowAction((reason: string) => unwrap(api.POST('/api/v1/erasure-requests/{id}/refuse', { params: { path: { id } }, body: { reason } })), [['erasure-requests']], t('privacy.erasureRefused'));
  return <ReasonDialog title={`${t('privacy.refuse')}: ${who}`} field={t('privacy.reason')} required action={t('privacy.refuse')} color="red" mutation={refuse} onClose={onClose} />;
}
