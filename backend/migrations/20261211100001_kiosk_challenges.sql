-- Kiosk liveness challenges: issued to a kiosk device, not to an employee (the kiosk learns
-- who is in front of it only by identifying them). Employee challenges keep their employee.
ALTER TABLE liveness_challenges ALTER COLUMN employee_id DROP NOT NULL;
