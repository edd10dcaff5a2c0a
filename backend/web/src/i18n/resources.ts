// Panel strings in English, Russian and Tajik. `ru` and `tg` are typed against `en`, so a key
// missing from a translation is a type error.

export const en = {
  app: { title: 'FaceID', loading: 'Loading…', retry: 'Retry', empty: 'Nothing here yet', error: 'Something went wrong', save: 'Save', cancel: 'Cancel', close: 'Close', language: 'Language', logout: 'Log out', saved: 'Saved' },
  login: { title: 'Sign in', login: 'Login', password: 'Password', submit: 'Sign in', failed: 'Wrong login or password', rateLimited: 'Too many attempts, try again later', kiosk: 'Kiosk mode' },
  nav: { review: 'Flagged punches', sites: 'Sites', employees: 'Employees', consentTexts: 'Consent texts', reports: 'Reports', myConsents: 'My consents', myAttendance: 'My attendance', password: 'Change password', kiosk: 'Kiosk' },
  roles: { admin: 'Administrator', operator: 'Operator', user: 'Employee' },
  status: { active: 'Active', dismissed: 'Dismissed' },
  employees: {
    title: 'Employees', search: 'Search', new: 'New employee', name: 'Name', login: 'Login', role: 'Role', status: 'Status',
    firstName: 'First name', lastName: 'Last name', password: 'Initial password', card: 'Card number', total: '{{count}} employees',
    created: 'Employee created', dismiss: 'Dismiss', rehire: 'Rehire', dismissed: 'Employee dismissed', rehired: 'Employee rehired',
    edit: 'Edit', page: 'Page', notFound: 'This employee does not exist or is outside your scope', back: 'Back to employees',
  },
  faces: { title: 'Face templates', upload: 'Enrolment photos', enrol: 'Enrol', enrolled: 'Face enrolled', none: 'No face templates', delete: 'Delete template', quality: 'Quality' },
  consent: {
    title: 'Consents', kind: 'Kind', body: 'Text', publish: 'Publish new version', published: 'Version published', version: 'Version',
    biometric: 'Biometric data', location: 'Location', telegram: 'Telegram', grant: 'Grant', withdraw: 'Withdraw', granted: 'Granted',
    withdrawn: 'Withdrawn', notGiven: 'Not given', noText: 'No text published yet', history: 'History',
  },
  sites: { title: 'Sites', new: 'New site', name: 'Site name', timeZone: 'Time zone', geofence: 'Geofence', latitude: 'Latitude', longitude: 'Longitude', radius: 'Radius, m', map: 'Map of the geofence (click to move the centre)', created: 'Site created' },
  review: { title: 'Flagged punches', none: 'No flagged punches', punch: 'Punch', photo: 'Evidence photo', employee: 'Employee', comment: 'Comment', accept: 'Approve', reject: 'Reject', accepted: 'Approved', rejected: 'Rejected', done: 'Review recorded' },
  reports: { title: 'Reports', month: 'Month', from: 'From', to: 'To', t13: 'Download T-13 (XLSX)', summaryXlsx: 'Summary (XLSX)', summaryCsv: 'Summary (CSV)', downloaded: 'Downloaded {{name}}' },
  attendance: { title: 'My attendance', at: 'Time', kind: 'Event', verdict: 'Verdict', in: 'In', out: 'Out' },
  password: { title: 'Change password', current: 'Current password', next: 'New password', changed: 'Password changed' },
  kiosk: {
    title: 'Kiosk', credential: 'Kiosk credential', start: 'Start', ready: 'Look at the camera', checking: 'Checking…',
    recognised: 'Welcome, {{name}}', in: 'Checked in', out: 'Checked out', notRecognised: 'Not recognised', notLive: 'Not live',
    cameraError: 'The camera is not available', exit: 'Exit kiosk mode',
    challenge: { blink: 'Blink', turn_left: 'Turn your head left', turn_right: 'Turn your head right', smile: 'Smile', nod: 'Nod' },
  },
};

type Strings<T> = { [K in keyof T]: T[K] extends string ? string : Strings<T[K]> };

export const ru: Strings<typeof en> = {
  app: { title: 'FaceID', loading: 'Загрузка…', retry: 'Повторить', empty: 'Здесь пока пусто', error: 'Что-то пошло не так', save: 'Сохранить', cancel: 'Отмена', close: 'Закрыть', language: 'Язык', logout: 'Выйти', saved: 'Сохранено' },
  login: { title: 'Вход', login: 'Логин', password: 'Пароль', submit: 'Войти', failed: 'Неверный логин или пароль', rateLimited: 'Слишком много попыток, попробуйте позже', kiosk: 'Режим киоска' },
  nav: { review: 'На проверку', sites: 'Объекты', employees: 'Сотрудники', consentTexts: 'Тексты согласий', reports: 'Отчёты', myConsents: 'Мои согласия', myAttendance: 'Моя посещаемость', password: 'Сменить пароль', kiosk: 'Киоск' },
  roles: { admin: 'Администратор', operator: 'Оператор', user: 'Сотрудник' },
  status: { active: 'Работает', dismissed: 'Уволен' },
  employees: {
    title: 'Сотрудники', search: 'Поиск', new: 'Новый сотрудник', name: 'Имя', login: 'Логин', role: 'Роль', status: 'Статус',
    firstName: 'Имя', lastName: 'Фамилия', password: 'Начальный пароль', card: 'Номер карты', total: 'Сотрудников: {{count}}',
    created: 'Сотрудник создан', dismiss: 'Уволить', rehire: 'Восстановить', dismissed: 'Сотрудник уволен', rehired: 'Сотрудник восстановлен',
    edit: 'Изменить', page: 'Страница', notFound: 'Такого сотрудника нет или он вне вашей зоны', back: 'К списку сотрудников',
  },
  faces: { title: 'Шаблоны лица', upload: 'Фотографии для регистрации', enrol: 'Зарегистрировать', enrolled: 'Лицо зарегистрировано', none: 'Шаблонов лица нет', delete: 'Удалить шаблон', quality: 'Качество' },
  consent: {
    title: 'Согласия', kind: 'Вид', body: 'Текст', publish: 'Опубликовать новую версию', published: 'Версия опубликована', version: 'Версия',
    biometric: 'Биометрические данные', location: 'Геолокация', telegram: 'Telegram', grant: 'Дать согласие', withdraw: 'Отозвать', granted: 'Дано',
    withdrawn: 'Отозвано', notGiven: 'Не дано', noText: 'Текст ещё не опубликован', history: 'История',
  },
  sites: { title: 'Объекты', new: 'Новый объект', name: 'Название объекта', timeZone: 'Часовой пояс', geofence: 'Геозона', latitude: 'Широта', longitude: 'Долгота', radius: 'Радиус, м', map: 'Карта геозоны (щелчок переносит центр)', created: 'Объект создан' },
  review: { title: 'Отметки на проверку', none: 'Нет отметок на проверку', punch: 'Отметка', photo: 'Фото-доказательство', employee: 'Сотрудник', comment: 'Комментарий', accept: 'Подтвердить', reject: 'Отклонить', accepted: 'Подтверждено', rejected: 'Отклонено', done: 'Решение записано' },
  reports: { title: 'Отчёты', month: 'Месяц', from: 'С', to: 'По', t13: 'Скачать Т-13 (XLSX)', summaryXlsx: 'Сводка (XLSX)', summaryCsv: 'Сводка (CSV)', downloaded: 'Скачан файл {{name}}' },
  attendance: { title: 'Моя посещаемость', at: 'Время', kind: 'Событие', verdict: 'Решение', in: 'Приход', out: 'Уход' },
  password: { title: 'Смена пароля', current: 'Текущий пароль', next: 'Новый пароль', changed: 'Пароль изменён' },
  kiosk: {
    title: 'Киоск', credential: 'Ключ киоска', start: 'Запустить', ready: 'Посмотрите в камеру', checking: 'Проверка…',
    recognised: 'Здравствуйте, {{name}}', in: 'Приход отмечен', out: 'Уход отмечен', notRecognised: 'Не распознан', notLive: 'Не живое лицо',
    cameraError: 'Камера недоступна', exit: 'Выйти из режима киоска',
    challenge: { blink: 'Моргните', turn_left: 'Поверните голову влево', turn_right: 'Поверните голову вправо', smile: 'Улыбнитесь', nod: 'Кивните' },
  },
};

export const tg: Strings<typeof en> = {
  app: { title: 'FaceID', loading: 'Боргирӣ…', retry: 'Такрор', empty: 'Ҳоло холӣ аст', error: 'Хатогӣ рух дод', save: 'Нигоҳ доштан', cancel: 'Бекор', close: 'Пӯшидан', language: 'Забон', logout: 'Баромад', saved: 'Нигоҳ дошта шуд' },
  login: { title: 'Воридшавӣ', login: 'Логин', password: 'Рамз', submit: 'Ворид шудан', failed: 'Логин ё рамз нодуруст аст', rateLimited: 'Кӯшишҳо зиёданд, баъдтар кӯшиш кунед', kiosk: 'Реҷаи киоск' },
  nav: { review: 'Барои санҷиш', sites: 'Объектҳо', employees: 'Кормандон', consentTexts: 'Матнҳои розигӣ', reports: 'Ҳисоботҳо', myConsents: 'Розигиҳои ман', myAttendance: 'Ҳозиршавии ман', password: 'Иваз кардани рамз', kiosk: 'Киоск' },
  roles: { admin: 'Маъмур', operator: 'Оператор', user: 'Корманд' },
  status: { active: 'Фаъол', dismissed: 'Озодшуда' },
  employees: {
    title: 'Кормандон', search: 'Ҷустуҷӯ', new: 'Корманди нав', name: 'Ном', login: 'Логин', role: 'Нақш', status: 'Ҳолат',
    firstName: 'Ном', lastName: 'Насаб', password: 'Рамзи аввала', card: 'Рақами корт', total: 'Кормандон: {{count}}',
    created: 'Корманд илова шуд', dismiss: 'Озод кардан', rehire: 'Барқарор кардан', dismissed: 'Корманд озод шуд', rehired: 'Корманд барқарор шуд',
    edit: 'Тағйир додан', page: 'Саҳифа', notFound: 'Чунин корманд нест ё берун аз доираи шумост', back: 'Ба рӯйхати кормандон',
  },
  faces: { title: 'Қолабҳои чеҳра', upload: 'Суратҳо барои сабт', enrol: 'Сабт кардан', enrolled: 'Чеҳра сабт шуд', none: 'Қолаби чеҳра нест', delete: 'Нест кардани қолаб', quality: 'Сифат' },
  consent: {
    title: 'Розигиҳо', kind: 'Намуд', body: 'Матн', publish: 'Нашри версияи нав', published: 'Версия нашр шуд', version: 'Версия',
    biometric: 'Маълумоти биометрӣ', location: 'Ҷойгиршавӣ', telegram: 'Telegram', grant: 'Розигӣ додан', withdraw: 'Бозхонд', granted: 'Дода шуд',
    withdrawn: 'Бозхонда шуд', notGiven: 'Дода нашудааст', noText: 'Матн ҳоло нашр нашудааст', history: 'Таърих',
  },
  sites: { title: 'Объектҳо', new: 'Объекти нав', name: 'Номи объект', timeZone: 'Минтақаи вақт', geofence: 'Геоминтақа', latitude: 'Арз', longitude: 'Тӯл', radius: 'Радиус, м', map: 'Харитаи геоминтақа (клик марказро мегузаронад)', created: 'Объект сохта шуд' },
  review: { title: 'Қайдҳо барои санҷиш', none: 'Қайд барои санҷиш нест', punch: 'Қайд', photo: 'Сурати далел', employee: 'Корманд', comment: 'Шарҳ', accept: 'Тасдиқ', reject: 'Рад кардан', accepted: 'Тасдиқ шуд', rejected: 'Рад шуд', done: 'Қарор сабт шуд' },
  reports: { title: 'Ҳисоботҳо', month: 'Моҳ', from: 'Аз', to: 'То', t13: 'Боргирии Т-13 (XLSX)', summaryXlsx: 'Ҷамъбаст (XLSX)', summaryCsv: 'Ҷамъбаст (CSV)', downloaded: 'Файли {{name}} боргирӣ шуд' },
  attendance: { title: 'Ҳозиршавии ман', at: 'Вақт', kind: 'Ҳодиса', verdict: 'Қарор', in: 'Омад', out: 'Рафт' },
  password: { title: 'Иваз кардани рамз', current: 'Рамзи ҷорӣ', next: 'Рамзи нав', changed: 'Рамз иваз шуд' },
  kiosk: {
    title: 'Киоск', credential: 'Калиди киоск', start: 'Оғоз', ready: 'Ба камера нигаред', checking: 'Санҷиш…',
    recognised: 'Хуш омадед, {{name}}', in: 'Омад қайд шуд', out: 'Рафт қайд шуд', notRecognised: 'Шинохта нашуд', notLive: 'Чеҳраи зинда нест',
    cameraError: 'Камера дастрас нест', exit: 'Баромад аз реҷаи киоск',
    challenge: { blink: 'Чашм пӯшед-кушоед', turn_left: 'Сарро ба чап гардонед', turn_right: 'Сарро ба рост гардонед', smile: 'Табассум кунед', nod: 'Сар ҷунбонед' },
  },
};
