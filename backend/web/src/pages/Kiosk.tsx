// The shared entrance tablet: signs in with a kiosk credential, which the server keeps in an
// HttpOnly cookie (so a reload resumes kiosk mode and the page never stores the credential; leaving
// needs the kiosk's PIN, checked by the server), shows the camera full screen, asks the server for a head-movement challenge, prompts its movements in
// big text while capturing a best frame and the challenge frames, sends them to /kiosk/identify
// and answers with a green or red screen and a sound, then returns to ready. A failed challenge
// does not refuse the punch: the server flags it for review (a still camera always fails).
// Ready means waiting for someone: the challenge is asked for and prompted only once
// motion-based presence detection (`presence.ts`, not face detection) sees someone in front of
// the camera; the server then decides whether there is a face.

import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Button, Center, Loader, Modal, PasswordInput, Paper, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { captureSteps, challengeUsable, outcomeOf, serverTimes, toneOf, type CaptureStep, type HeadAction, type KioskOutcome } from '../kiosk';
import { luma, MotionPresence, PRESENCE_HEIGHT, PRESENCE_WIDTH } from '../presence';
import { toProblem } from '../problem';
import { LanguageSelect } from '../Shell';
import { CSRF_HEADER } from '../auth/session';

const RESULT_MS = 4000;
const FRAME_EVERY_MS = 1200;
// How long each prompt of the challenge stays on screen before its frame is taken.
const STEP_MS = 1500;
// After a recognised punch the person is usually still in front of the camera: wait before the
// next identification so they are not punched again (in, then out).
const AFTER_MATCH_MS = 8000;
// How often the camera is looked at for someone in front of it while ready.
const PRESENCE_EVERY_MS = 250;

type Screen =
  | { state: 'ready'; waitMs: number }
  | { state: 'prompt'; step: CaptureStep }
  | { state: 'checking' }
  | { state: 'result'; outcome: KioskOutcome };

interface Challenge {
  nonce: string;
  actions: HeadAction[];
  expires_at: string;
  receivedAt: number;
}

// Kiosk requests after sign-in: the credential travels in the server's HttpOnly cookie.
const KIOSK_HEADERS = { [CSRF_HEADER]: '1' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function grab(v: HTMLVideoElement): Promise<Blob | null> {
  const canvas = document.createElement('canvas');
  canvas.width = v.videoWidth;
  canvas.height = v.videoHeight;
  canvas.getContext('2d')!.drawImage(v, 0, 0);
  return new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/jpeg', 0.9));
}

function playTone(ctx: AudioContext, freqs: number[], seconds: number) {
  let t = ctx.currentTime;
  for (const f of freqs) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = f;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + seconds);
    t += seconds;
  }
}

export default function KioskPage() {
  const { t } = useTranslation();
  // Kiosk mode is on while the server's cookie is: asked once on load, so a reload resumes it.
  const [mode, setMode] = useState<'unknown' | 'off' | 'on'>('unknown');
  const [input, setInput] = useState('');
  const [signInError, setSignInError] = useState<string | null>(null);
  const exit = useCallback(() => setMode('off'), []);
  useEffect(() => {
    fetch('/api/v1/kiosk/me', { headers: KIOSK_HEADERS })
      .then((r) => setMode(r.ok ? 'on' : 'off'))
      .catch(() => setMode('off'));
  }, []);
  const signIn = async () => {
    setSignInError(null);
    const resp = await fetch('/api/v1/kiosk/session', { method: 'POST', headers: { Authorization: `Bearer ${input.trim()}` } });
    if (resp.ok) {
      setInput('');
      setMode('on');
    } else setSignInError(toProblem(await resp.json().catch(() => null), resp.status).detail ?? `HTTP ${resp.status}`);
  };
  if (mode === 'unknown')
    return (
      <Center h="100vh">
        <Loader />
      </Center>
    );
  if (mode === 'off')
    return (
      <Center h="100vh">
        <Paper withBorder p="xl" w={400} component="form" onSubmit={(e) => { e.preventDefault(); void signIn(); }}>
          <Stack>
            <Title order={2}>{t('kiosk.title')}</Title>
            <PasswordInput label={t('kiosk.credential')} value={input} onChange={(e) => setInput(e.currentTarget.value)} error={signInError} />
            <Button type="submit" disabled={!input.trim()}>
              {t('kiosk.start')}
            </Button>
            <LanguageSelect />
            <Link to="/">{t('kiosk.back')}</Link>
          </Stack>
        </Paper>
      </Center>
    );
  return <KioskCamera onExit={exit} />;
}

/** Leaving kiosk mode: the PIN, checked by the server (which then clears its cookie). */
function ExitDialog({ opened, onClose, onExit }: { opened: boolean; onClose: () => void; onExit: () => void }) {
  const { t } = useTranslation();
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async () => {
    setError(null);
    setPending(true);
    try {
      const resp = await fetch('/api/v1/kiosk/exit', { method: 'POST', headers: { ...KIOSK_HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify({ pin }) });
      if (resp.ok) return onExit();
      const problem = toProblem(await resp.json().catch(() => null), resp.status);
      setPin('');
      setError(
        problem.code === 'wrong_pin'
          ? t('kiosk.wrongPin')
          : problem.code === 'rate_limited'
            ? t('kiosk.locked', { s: resp.headers.get('Retry-After') ?? '300' })
            : problem.code === 'kiosk_pin_not_set'
              ? t('kiosk.noPin')
              : (problem.detail ?? `HTTP ${resp.status}`),
      );
    } finally {
      setPending(false);
    }
  };
  return (
    <Modal opened={opened} onClose={onClose} title={t('kiosk.exit')}>
      <Stack
        component="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <PasswordInput label={t('kiosk.pin')} inputMode="numeric" autoComplete="off" data-autofocus value={pin} onChange={(e) => setPin(e.currentTarget.value)} error={error} />
        <Button type="submit" loading={pending} disabled={pin === ''}>
          {t('kiosk.exit')}
        </Button>
      </Stack>
    </Modal>
  );
}

function KioskCamera({ onExit }: { onExit: () => void }) {
  const { t } = useTranslation();
  // While the PIN is asked, nobody is identified (the operator stands in front of the camera).
  const [exiting, setExiting] = useState(false);
  const paused = useRef(false);
  useEffect(() => {
    paused.current = exiting;
  }, [exiting]);
  const video = useRef<HTMLVideoElement>(null);
  const audio = useRef<AudioContext | null>(null);
  const [screen, setScreen] = useState<Screen>({ state: 'ready', waitMs: FRAME_EVERY_MS });
  const [cameraError, setCameraError] = useState(false);

  useEffect(() => {
    let stream: MediaStream | null = null;
    let cancelled = false;
    navigator.mediaDevices
      ?.getUserMedia({ video: { width: 640, height: 480 }, audio: false })
      .then((s) => {
        if (cancelled) return s.getTracks().forEach((tr) => tr.stop());
        stream = s;
        if (video.current) {
          video.current.srcObject = s;
          void video.current.play();
        }
      })
      .catch(() => setCameraError(true));
    if (!navigator.mediaDevices) setCameraError(true);
    return () => {
      cancelled = true;
      stream?.getTracks().forEach((tr) => tr.stop());
    };
  }, []);

  // Motion-based presence: a tiny grey copy of the frame against the empty scene.
  const presence = useRef(new MotionPresence());
  const sampler = useRef<CanvasRenderingContext2D | null>(null);
  const someoneThere = useCallback((): boolean => {
    const v = video.current;
    if (!v || v.videoWidth === 0) return false;
    if (!sampler.current) {
      const canvas = document.createElement('canvas');
      canvas.width = PRESENCE_WIDTH;
      canvas.height = PRESENCE_HEIGHT;
      sampler.current = canvas.getContext('2d', { willReadFrequently: true });
    }
    const ctx = sampler.current;
    if (!ctx) return true;
    ctx.drawImage(v, 0, 0, PRESENCE_WIDTH, PRESENCE_HEIGHT);
    return presence.current.update(luma(ctx.getImageData(0, 0, PRESENCE_WIDTH, PRESENCE_HEIGHT).data), performance.now());
  }, []);

  const challenge = useRef<Challenge | null>(null);
  const identify = useCallback(async () => {
    // The next round waits for someone again (not for the movement that started this one).
    presence.current.rearm();
    const v = video.current;
    // The camera is not streaming yet: try again shortly (a new state object re-arms the timer).
    const retry = () => setScreen({ state: 'ready', waitMs: FRAME_EVERY_MS });
    if (!v || v.videoWidth === 0) return retry();
    const auth = KIOSK_HEADERS;
    // A challenge from the server, kept until it is used (an unusable frame does not use it).
    if (!challenge.current || !challengeUsable(challenge.current.receivedAt, Date.now())) {
      try {
        const resp = await fetch('/api/v1/kiosk/challenges', { method: 'POST', headers: auth });
        // The credential was replaced or the cookie is gone: sign in again.
        if (resp.status === 401) return onExit();
        if (!resp.ok) return retry();
        challenge.current = { ...(await resp.json()), receivedAt: Date.now() };
      } catch {
        return retry();
      }
    }
    const c = challenge.current!;
    // The prompts, each in big text for a moment before its frame is taken.
    let best: Blob | null = null;
    const frames: Blob[] = [];
    const taken: number[] = [];
    for (const step of captureSteps(c.actions)) {
      setScreen({ state: 'prompt', step });
      await sleep(STEP_MS);
      const frame = await grab(v);
      if (!frame) return retry();
      if (step.frame === 'best') best = frame;
      else {
        frames.push(frame);
        taken.push(Date.now());
      }
    }
    if (!best || paused.current) return retry();
    setScreen({ state: 'checking' });
    const form = new FormData();
    form.append(
      'evidence',
      JSON.stringify({
        idempotency_key: crypto.randomUUID(),
        challenge_nonce: c.nonce,
        challenge_frame_times_ms: serverTimes(c.expires_at, c.receivedAt, taken),
      }),
    );
    form.append('best_frame', best, 'frame.jpg');
    frames.forEach((f, i) => form.append('challenge_frame', f, `challenge-${i}.jpg`));
    let outcome: KioskOutcome;
    try {
      const resp = await fetch('/api/v1/kiosk/identify', { method: 'POST', headers: auth, body: form });
      const body = await resp.json().catch(() => null);
      // Only an unusable frame (422) leaves the challenge unused; anything else used or refused it.
      if (resp.status !== 422) challenge.current = null;
      outcome = resp.ok ? outcomeOf(body) : outcomeOf(null, toProblem(body, resp.status).code);
      if (resp.status === 400) outcome = { kind: 'noFace' };
    } catch {
      outcome = { kind: 'noFace' };
    }
    if (outcome.kind === 'noFace') {
      setScreen({ state: 'ready', waitMs: FRAME_EVERY_MS });
      return;
    }
    const tone = toneOf(outcome);
    if (tone) {
      audio.current ??= new AudioContext();
      playTone(audio.current, tone.freqs, tone.seconds);
    }
    setScreen({ state: 'result', outcome });
  }, [onExit]);

  // Ready: look for someone in front of the camera every PRESENCE_EVERY_MS (the background
  // keeps adapting meanwhile) and, once there is someone and at least `waitMs` has passed, start
  // the challenge. Result: back to ready after a few seconds.
  useEffect(() => {
    if (screen.state === 'ready' && !exiting) {
      const since = performance.now();
      const id = setInterval(() => {
        if (someoneThere() && performance.now() - since >= screen.waitMs) {
          clearInterval(id);
          void identify();
        }
      }, PRESENCE_EVERY_MS);
      return () => clearInterval(id);
    }
    if (screen.state === 'result') {
      const waitMs = screen.outcome.kind === 'recognised' ? AFTER_MATCH_MS : FRAME_EVERY_MS;
      const id = setTimeout(() => setScreen({ state: 'ready', waitMs }), RESULT_MS);
      return () => clearTimeout(id);
    }
  }, [screen, identify, exiting, someoneThere]);

  const result = screen.state === 'result' ? screen.outcome : null;
  const bg = result ? (result.kind === 'recognised' ? 'green.7' : 'red.7') : 'dark.8';
  const message =
    cameraError
      ? t('kiosk.cameraError')
      : screen.state === 'checking'
        ? t('kiosk.checking')
        : screen.state === 'prompt'
          ? t(`kiosk.challenge.${screen.step.prompt}`)
        : result?.kind === 'recognised'
          ? t('kiosk.recognised', { name: result.name })
          : result?.kind === 'notLive'
            ? t('kiosk.notLive')
            : result
              ? t('kiosk.notRecognised')
              : t('kiosk.ready');
  return (
    <Box bg={bg} h="100vh" p="md" style={{ display: 'flex', flexDirection: 'column', alignItems: 'center', gap: 16 }}>
      <video ref={video} muted playsInline aria-label={t('kiosk.title')} style={{ maxHeight: '60vh', maxWidth: '100%', borderRadius: 12 }} />
      <Text role="status" aria-live="polite" c="white" fz={48} fw={700} ta="center">
        {message}
      </Text>
      <Button variant="white" onClick={() => setExiting(true)}>
        {t('kiosk.exit')}
      </Button>
      <ExitDialog opened={exiting} onClose={() => setExiting(false)} onExit={onExit} />
    </Box>
  );
}
