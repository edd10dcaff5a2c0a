import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, ru, tg } from './resources';

export const LANGUAGES = [
  { code: 'ru', label: 'Русский' },
  { code: 'tg', label: 'Тоҷикӣ' },
  { code: 'en', label: 'English' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];
const KEY = 'faceid.lang';

/** The remembered language, else the browser's, else Russian. */
export function initialLanguage(stored: string | null, browser: readonly string[]): Language {
  const codes = LANGUAGES.map((l) => l.code) as readonly string[];
  if (stored && codes.includes(stored)) return stored as Language;
  for (const b of browser) {
    const c = b.slice(0, 2).toLowerCase();
    if (codes.includes(c)) return c as Language;
  }
  return 'ru';
}

export function setLanguage(lang: Language) {
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
  void i18n.changeLanguage(lang);
}

export function initI18n() {
  const lang = initialLanguage(localStorage.getItem(KEY), navigator.languages ?? []);
  document.documentElement.lang = lang;
  void i18n.use(initReactI18next).init({
    resources: { ru: { translation: ru }, tg: { translation: tg }, en: { translation: en } },
    lng: lang,
    fallbackLng: 'en',
    interpolation: { escapeValue: false },
  });
  return i18n;
}
