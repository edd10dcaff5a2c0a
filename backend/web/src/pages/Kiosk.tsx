// The shared entrance tablet: signs in with a kiosk credential (kept in memory only), shows the
// camera full screen, sends one frame at a time to /kiosk/identify and answers with a green or
// red screen and a sound, then returns to ready. The server takes a single best frame from a
// kiosk (it checks liveness passively; head-movement challenges are for phone punches).

import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Button, Center, PasswordInput, Paper, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { outcomeOf, toneOf, type KioskOutcome } from '../kiosk';
import { toProblem } from '../problem';
import { LanguageSelect } from '../Shell';

const RESULT_MS = 4000;
const FRAME_EVERY_MS = 1200;
// After a recognised punch the person is usually still in front of the camera: wait before the
// next identification so they are not punched again (in, then out).
const AFTER_MATCH_MS = 8000;

type Screen = { state: 'ready'; waitMs: number } | { state: 'checking' } | { state: 'result'; outcome: KioskOutcome };

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
  const [credential, setCredential] = useState<string | null>(null);
  const [input, setInput] = useState('');
  const [signInError, setSignInError] = useState<string | null>(null);
  const signIn = async () => {
    setSignInError(null);
    const resp = await fetch('/api/v1/kiosk/me', { headers: { Authorization: `Bearer ${input.trim()}` } });
    if (resp.ok) setCredential(input.trim());
    else setSignInError(toProblem(await resp.json().catch(() => null), resp.status).detail ?? `HTTP ${resp.status}`);
  };
  if (!credential)
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
            <Link to="/">{t('kiosk.exit')}</Link>
          </Stack>
        </Paper>
      </Center>
    );
  return <KioskCamera credential={credential} onExit={() => setCredential(null)} />;
}

function KioskCamera({ credential, onExit }: { credential: string; onExit: () => void }) {
  const { t } = useTranslation();
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

  const identify = useCallback(async () => {
    const v = video.current;
    // The camera is not streaming yet: try again shortly (a new state object re-arms the timer).
    const retry = () => setScreen({ state: 'ready', waitMs: FRAME_EVERY_MS });
    if (!v || v.videoWidth === 0) return retry();
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext('2d')!.drawImage(v, 0, 0);
    const frame = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/jpeg', 0.9));
    if (!frame) return retry();
    setScreen({ state: 'checking' });
    const form = new FormData();
    form.append('evidence', JSON.stringify({ idempotency_key: crypto.randomUUID() }));
    form.append('best_frame', frame, 'frame.jpg');
    let outcome: KioskOutcome;
    try {
      const resp = await fetch('/api/v1/kiosk/identify', { method: 'POST', headers: { Authorization: `Bearer ${credential}` }, body: form });
      const body = await resp.json().catch(() => null);
      outcome = resp.ok ? outcomeOf(body) : outcomeOf(null, toProblem(body, resp.status).code);
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
  }, [credential]);

  // Ready: try a frame every so often. Result: back to ready after a few seconds.
  useEffect(() => {
    if (screen.state === 'ready') {
      const id = setTimeout(() => void identify(), screen.waitMs);
      return () => clearTimeout(id);
    }
    if (screen.state === 'result') {
      const waitMs = screen.outcome.kind === 'recognised' ? AFTER_MATCH_MS : FRAME_EVERY_MS;
      const id = setTimeout(() => setScreen({ state: 'ready', waitMs }), RESULT_MS);
      return () => clearTimeout(id);
    }
  }, [screen, identify]);

  const result = screen.state === 'result' ? screen.outcome : null;
  const bg = result ? (result.kind === 'recognised' ? 'green.7' : 'red.7') : 'dark.8';
  const message =
    cameraError
      ? t('kiosk.cameraError')
      : screen.state === 'checking'
        ? t('kiosk.checking')
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
      <Button variant="white" onClick={onExit}>
        {t('kiosk.exit')}
      </Button>
    </Box>
  );
}
