// Panel strings in English, Russian and Tajik. `ru` and `tg` are typed against `en`, so a key
// missing from a translation is a type error.

export const en = {
  app: { title: 'FaceID', loading: 'Loading…', retry: 'Retry', empty: 'Nothing here yet', error: 'Something went wrong', save: 'Save', cancel: 'Cancel', close: 'Close', language: 'Language', logout: 'Log out', saved: 'Saved', required: 'Required', copy: 'Copy', copied: 'Copied', page: 'Page', pager: { first: 'First page', previous: 'Previous page', next: 'Next page', last: 'Last page' } },
  login: { title: 'Sign in', login: 'Login', password: 'Password', submit: 'Sign in', failed: 'Wrong login or password', rateLimited: 'Too many attempts, try again later', kiosk: 'Kiosk mode' },
  nav: { review: 'Flagged punches', sites: 'Sites', employees: 'Employees', consentTexts: 'Consent texts', reports: 'Reports', myConsents: 'My consents', myAttendance: 'My attendance', password: 'Change password', kiosk: 'Kiosk', today: 'Today', devices: 'Devices', organisation: 'Departments', events: 'Attendance', audit: 'Audit log' },
  roles: { admin: 'Administrator', operator: 'Operator', user: 'Employee' },
  status: { active: 'Active', dismissed: 'Dismissed' },
  employees: {
    title: 'Employees', search: 'Search', new: 'New employee', name: 'Name', login: 'Login', role: 'Role', status: 'Status',
    firstName: 'First name', lastName: 'Last name', password: 'Initial password', card: 'Card number', total: '{{count}} employees',
    created: 'Employee created', dismiss: 'Dismiss', rehire: 'Rehire', dismissed: 'Employee dismissed', rehired: 'Employee rehired',
    edit: 'Edit', page: 'Page', notFound: 'This employee does not exist or is outside your scope', back: 'Back to employees',
    department: 'Department', position: 'Position', scope: 'Manages departments', scopeHint: 'An operator sees and manages the employees of these departments',
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
  today: {
    title: 'Today', at: 'As of {{at}}', everyone: 'Everyone', byDepartment: 'By department', bySite: 'By site', group: 'Group', employees: 'Employees', none: 'Without one',
    in_now: 'In now', late: 'Late', missing: 'Absent', not_checked_out: 'Not checked out', on_leave: 'On leave', pending_review: 'Waiting for review', lateBy: '{{minutes}} min late',
  },
  absence: { annual_leave: 'Annual leave', sick_leave: 'Sick leave', business_trip: 'Business trip', unpaid_leave: 'Unpaid leave' },
  devices: {
    title: 'Devices', name: 'Name', kind: 'Kind', employee: 'Employee', status: 'Status', lastSeen: 'Last seen', blocked: 'Blocked', active: 'Active',
    block: 'Block', unblock: 'Unblock', newKiosk: 'New kiosk', kioskName: 'Kiosk name', site: 'Site', create: 'Create', credential: 'Kiosk credential',
    credentialOnce: 'Copy it now: it is shown only once. Enter it on the tablet at /kiosk.', newCredential: 'New credential', phone: 'Phone', kiosk: 'Kiosk', blockedDone: 'Device blocked', unblockedDone: 'Device unblocked',
  },
  org: { departments: 'Departments', positions: 'Positions', name: 'Name', add: 'Add', delete: 'Delete', created: 'Created', deleted: 'Deleted', newDepartment: 'New department', newPosition: 'New position' },
  events: {
    title: 'Attendance', from: 'From', to: 'To', verdict: 'Verdict', any: 'Any', employee: 'Employee', at: 'Time', kind: 'Event', source: 'Source', reasons: 'Reasons', site: 'Site',
    verify: 'Verify the log chain', chainOk: 'The log chain is intact: {{count}} records', chainBroken: 'The log chain is broken at record {{seq}}', photo: 'Photo',
    verified: 'Verified', flagged: 'Flagged', rejected: 'Rejected', accepted: 'Approved', check_in: 'In', check_out: 'Out',
  },
  audit: { title: 'Audit log', at: 'Time', actor: 'Who', action: 'Action', entity: 'Object', entityType: 'Object type', details: 'Details' },
  locations: { title: 'Locations', day: 'Day', points: '{{count}} points', mock: 'Mock location', accuracy: 'Accuracy, m', none: 'No points on this day', map: 'Track of the day' },
  kiosk: {
    title: 'Kiosk', credential: 'Kiosk credential', start: 'Start', ready: 'Look at the camera', checking: 'Checking…',
    recognised: 'Welcome, {{name}}', in: 'Checked in', out: 'Checked out', notRecognised: 'Not recognised', notLive: 'Not live',
    cameraError: 'The camera is not available', exit: 'Exit kiosk mode',
    challenge: { blink: 'Blink', turn_left: 'Turn your head left', turn_right: 'Turn your head right', smile: 'Smile', nod: 'Nod' },
  },
};

type Strings<T> = { [K in keyof T]: T[K] extends string ? string : Strings<T[K]> };

export const ru: Strings<typeof en> = {
  app: { title: 'FaceID', loading: 'Загрузка…', retry: 'Повторить', empty: 'Здесь пока пусто', error: 'Что-то пошло не так', save: 'Сохранить', cancel: 'Отмена', close: 'Закрыть', language: 'Язык', logout: 'Выйти', saved: 'Сохранено', required: 'Обязательное поле', copy: 'Копировать', copied: 'Скопировано', page: 'Страница', pager: { first: 'Первая страница', previous: 'Предыдущая страница', next: 'Следующая страница', last: 'Последняя страница' } },
  login: { title: 'Вход', login: 'Логин', password: 'Пароль', submit: 'Войти', failed: 'Неверный логин или пароль', rateLimited: 'Слишком много попыток, попробуйте позже', kiosk: 'Режим киоска' },
  nav: { review: 'На проверку', sites: 'Объекты', employees: 'Сотрудники', consentTexts: 'Тексты согласий', reports: 'Отчёты', myConsents: 'Мои согласия', myAttendance: 'Моя посещаемость', password: 'Сменить пароль', kiosk: 'Киоск', today: 'Сегодня', devices: 'Устройства', organisation: 'Отделы и должности', events: 'Посещаемость', audit: 'Журнал аудита' },
  roles: { admin: 'Администратор', operator: 'Оператор', user: 'Сотрудник' },
  status: { active: 'Работает', dismissed: 'Уволен' },
  employees: {
    title: 'Сотрудники', search: 'Поиск', new: 'Новый сотрудник', name: 'Имя', login: 'Логин', role: 'Роль', status: 'Статус',
    firstName: 'Имя', lastName: 'Фамилия', password: 'Начальный пароль', card: 'Номер карты', total: 'Сотрудников: {{count}}',
    created: 'Сотрудник создан', dismiss: 'Уволить', rehire: 'Восстановить', dismissed: 'Сотрудник уволен', rehired: 'Сотрудник восстановлен',
    edit: 'Изменить', page: 'Страница', notFound: 'Такого сотрудника нет или он вне вашей зоны', back: 'К списку сотрудников',
    department: 'Отдел', position: 'Должность', scope: 'Управляет отделами', scopeHint: 'Оператор видит и ведёт сотрудников этих отделов',
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
  today: {
    title: 'Сегодня', at: 'На {{at}}', everyone: 'Все', byDepartment: 'По отделам', bySite: 'По объектам', group: 'Группа', employees: 'Сотрудников', none: 'Без привязки',
    in_now: 'На месте', late: 'Опоздали', missing: 'Отсутствуют', not_checked_out: 'Не отметили уход', on_leave: 'В отпуске / на больничном', pending_review: 'Ждут проверки', lateBy: 'опоздание {{minutes}} мин',
  },
  absence: { annual_leave: 'Отпуск', sick_leave: 'Больничный', business_trip: 'Командировка', unpaid_leave: 'Отпуск без содержания' },
  devices: {
    title: 'Устройства', name: 'Название', kind: 'Тип', employee: 'Сотрудник', status: 'Статус', lastSeen: 'Последний вход', blocked: 'Заблокировано', active: 'Активно',
    block: 'Заблокировать', unblock: 'Разблокировать', newKiosk: 'Новый киоск', kioskName: 'Название киоска', site: 'Объект', create: 'Создать', credential: 'Ключ киоска',
    credentialOnce: 'Скопируйте его сейчас: он показывается один раз. Введите его на планшете по адресу /kiosk.', newCredential: 'Новый ключ', phone: 'Телефон', kiosk: 'Киоск', blockedDone: 'Устройство заблокировано', unblockedDone: 'Устройство разблокировано',
  },
  org: { departments: 'Отделы', positions: 'Должности', name: 'Название', add: 'Добавить', delete: 'Удалить', created: 'Создано', deleted: 'Удалено', newDepartment: 'Новый отдел', newPosition: 'Новая должность' },
  events: {
    title: 'Посещаемость', from: 'С', to: 'По', verdict: 'Решение', any: 'Любое', employee: 'Сотрудник', at: 'Время', kind: 'Событие', source: 'Источник', reasons: 'Причины', site: 'Объект',
    verify: 'Проверить цепочку журнала', chainOk: 'Цепочка журнала цела: записей {{count}}', chainBroken: 'Цепочка журнала нарушена на записи {{seq}}', photo: 'Фото',
    verified: 'Подтверждено', flagged: 'На проверку', rejected: 'Отклонено', accepted: 'Одобрено', check_in: 'Приход', check_out: 'Уход',
  },
  audit: { title: 'Журнал аудита', at: 'Время', actor: 'Кто', action: 'Действие', entity: 'Объект', entityType: 'Тип объекта', details: 'Подробности' },
  locations: { title: 'Геолокация', day: 'День', points: 'Точек: {{count}}', mock: 'Подменённое местоположение', accuracy: 'Точность, м', none: 'В этот день точек нет', map: 'Маршрут за день' },
  kiosk: {
    title: 'Киоск', credential: 'Ключ киоска', start: 'Запустить', ready: 'Посмотрите в камеру', checking: 'Проверка…',
    recognised: 'Здравствуйте, {{name}}', in: 'Приход отмечен', out: 'Уход отмечен', notRecognised: 'Не распознан', notLive: 'Не живое лицо',
    cameraError: 'Камера недоступна', exit: 'Выйти из режима киоска',
    challenge: { blink: 'Моргните', turn_left: 'Поверните голову влево', turn_right: 'Поверните голову вправо', smile: 'Улыбнитесь', nod: 'Кивните' },
  },
};

export const tg: Strings<typeof en> = {
  app: { title: 'FaceID', loading: 'Боргирӣ…', retry: 'Такрор', empty: 'Ҳоло холӣ аст', error: 'Хатогӣ рух дод', save: 'Нигоҳ доштан', cancel: 'Бекор', close: 'Пӯшидан', language: 'Забон', logout: 'Баромад', saved: 'Нигоҳ дошта шуд', required: 'Ҳатмист', copy: 'Нусха гирифтан', copied: 'Нусха гирифта шуд', page: 'Саҳифа', pager: { first: 'Саҳифаи аввал', previous: 'Саҳифаи қаблӣ', next: 'Саҳифаи навбатӣ', last: 'Саҳифаи охир' } },
  login: { title: 'Воридшавӣ', login: 'Логин', password: 'Рамз', submit: 'Ворид шудан', failed: 'Логин ё рамз нодуруст аст', rateLimited: 'Кӯшишҳо зиёданд, баъдтар кӯшиш кунед', kiosk: 'Реҷаи киоск' },
  nav: { review: 'Барои санҷиш', sites: 'Объектҳо', employees: 'Кормандон', consentTexts: 'Матнҳои розигӣ', reports: 'Ҳисоботҳо', myConsents: 'Розигиҳои ман', myAttendance: 'Ҳозиршавии ман', password: 'Иваз кардани рамз', kiosk: 'Киоск', today: 'Имрӯз', devices: 'Дастгоҳҳо', organisation: 'Шӯъбаҳо ва вазифаҳо', events: 'Ҳозиршавӣ', audit: 'Дафтари аудит' },
  roles: { admin: 'Маъмур', operator: 'Оператор', user: 'Корманд' },
  status: { active: 'Фаъол', dismissed: 'Озодшуда' },
  employees: {
    title: 'Кормандон', search: 'Ҷустуҷӯ', new: 'Корманди нав', name: 'Ном', login: 'Логин', role: 'Нақш', status: 'Ҳолат',
    firstName: 'Ном', lastName: 'Насаб', password: 'Рамзи аввала', card: 'Рақами корт', total: 'Кормандон: {{count}}',
    created: 'Корманд илова шуд', dismiss: 'Озод кардан', rehire: 'Барқарор кардан', dismissed: 'Корманд озод шуд', rehired: 'Корманд барқарор шуд',
    edit: 'Тағйир додан', page: 'Саҳифа', notFound: 'Чунин корманд нест ё берун аз доираи шумост', back: 'Ба рӯйхати кормандон',
    department: 'Шӯъба', position: 'Вазифа', scope: 'Шӯъбаҳои идорашаванда', scopeHint: 'Оператор кормандони ин шӯъбаҳоро мебинад ва идора мекунад',
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
  today: {
    title: 'Имрӯз', at: 'То {{at}}', everyone: 'Ҳама', byDepartment: 'Аз рӯи шӯъбаҳо', bySite: 'Аз рӯи объектҳо', group: 'Гурӯҳ', employees: 'Кормандон', none: 'Бе тааллуқ',
    in_now: 'Дар ҷой', late: 'Дер омаданд', missing: 'Ғоибанд', not_checked_out: 'Рафтро қайд накарданд', on_leave: 'Дар рухсатӣ', pending_review: 'Интизори санҷиш', lateBy: '{{minutes}} дақ. дер',
  },
  absence: { annual_leave: 'Рухсатӣ', sick_leave: 'Беморӣ', business_trip: 'Сафари хизматӣ', unpaid_leave: 'Рухсатии бемузд' },
  devices: {
    title: 'Дастгоҳҳо', name: 'Ном', kind: 'Намуд', employee: 'Корманд', status: 'Ҳолат', lastSeen: 'Вуруди охирин', blocked: 'Басташуда', active: 'Фаъол',
    block: 'Бастан', unblock: 'Кушодан', newKiosk: 'Киоски нав', kioskName: 'Номи киоск', site: 'Объект', create: 'Сохтан', credential: 'Калиди киоск',
    credentialOnce: 'Онро ҳозир нусха гиред: танҳо як бор нишон дода мешавад. Дар планшет дар /kiosk ворид кунед.', newCredential: 'Калиди нав', phone: 'Телефон', kiosk: 'Киоск', blockedDone: 'Дастгоҳ баста шуд', unblockedDone: 'Дастгоҳ кушода шуд',
  },
  org: { departments: 'Шӯъбаҳо', positions: 'Вазифаҳо', name: 'Ном', add: 'Илова', delete: 'Нест кардан', created: 'Сохта шуд', deleted: 'Нест карда шуд', newDepartment: 'Шӯъбаи нав', newPosition: 'Вазифаи нав' },
  events: {
    title: 'Ҳозиршавӣ', from: 'Аз', to: 'То', verdict: 'Қарор', any: 'Ҳар кадом', employee: 'Корманд', at: 'Вақт', kind: 'Ҳодиса', source: 'Манбаъ', reasons: 'Сабабҳо', site: 'Объект',
    verify: 'Санҷиши занҷири дафтар', chainOk: 'Занҷири дафтар бутун аст: {{count}} сабт', chainBroken: 'Занҷири дафтар дар сабти {{seq}} вайрон аст', photo: 'Сурат',
    verified: 'Тасдиқшуда', flagged: 'Барои санҷиш', rejected: 'Радшуда', accepted: 'Қабулшуда', check_in: 'Омад', check_out: 'Рафт',
  },
  audit: { title: 'Дафтари аудит', at: 'Вақт', actor: 'Кӣ', action: 'Амал', entity: 'Объект', entityType: 'Намуди объект', details: 'Тафсилот' },
  locations: { title: 'Ҷойгиршавӣ', day: 'Рӯз', points: 'Нуқтаҳо: {{count}}', mock: 'Ҷойгиршавии қалбакӣ', accuracy: 'Дақиқӣ, м', none: 'Дар ин рӯз нуқта нест', map: 'Хатсайри рӯз' },
  kiosk: {
    title: 'Киоск', credential: 'Калиди киоск', start: 'Оғоз', ready: 'Ба камера нигаред', checking: 'Санҷиш…',
    recognised: 'Хуш омадед, {{name}}', in: 'Омад қайд шуд', out: 'Рафт қайд шуд', notRecognised: 'Шинохта нашуд', notLive: 'Чеҳраи зинда нест',
    cameraError: 'Камера дастрас нест', exit: 'Баромад аз реҷаи киоск',
    challenge: { blink: 'Чашм пӯшед-кушоед', turn_left: 'Сарро ба чап гардонед', turn_right: 'Сарро ба рост гардонед', smile: 'Табассум кунед', nod: 'Сар ҷунбонед' },
  },
};
